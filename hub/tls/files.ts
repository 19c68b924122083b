/** Where the hub keeps its TLS material, inside the data folder (the CLI reads the CA from here). */
export const TLS_DIR = "tls";
/** The hub's CA certificate (public: devices and the local CLI trust it). */
export const CA_CERT_FILE = "ca.pem";
/** The CA's private key (0600). */
export const CA_KEY_FILE = "ca-key.pem";
/** The server certificate the hub issued itself for HTTPS and MQTTS. */
export const SERVER_CERT_FILE = "server.pem";
/** Its private key (0600). */
export const SERVER_KEY_FILE = "server-key.pem";
