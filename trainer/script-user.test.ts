import { describe, expect, it } from "vitest";
import { scriptEnvironment } from "./script-env.js";
import { findUser, resolveScriptIdentity } from "./script-user.js";

const PASSWD = [
  "root:x:0:0:root:/root:/bin/bash",
  "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin",
  "wheel-user:x:1000:0::/home/w:/bin/sh",
].join("\n");

describe("who runs a script", () => {
  it("a non-root worker runs scripts as itself and cannot switch users", async () => {
    expect(await resolveScriptIdentity({ uid: 1000, passwd: PASSWD })).toEqual({ kind: "self" });
    const refused = await resolveScriptIdentity({ uid: 1000, configured: "nobody", passwd: PASSWD });
    expect(refused).toMatchObject({
      kind: "refused",
      reason: expect.stringMatching(/needs a worker running as root/),
    });
  });

  it("a root worker runs scripts as nobody, or the configured user, never with uid or gid 0", async () => {
    expect(await resolveScriptIdentity({ uid: 0, passwd: PASSWD })).toEqual({
      kind: "user",
      user: { name: "nobody", uid: 65534, gid: 65534 },
    });
    expect(await resolveScriptIdentity({ uid: 0, configured: "4000:4000", passwd: PASSWD })).toMatchObject({
      kind: "user",
      user: { uid: 4000, gid: 4000 },
    });
    for (const configured of ["root", "wheel-user", "0:0"])
      expect(await resolveScriptIdentity({ uid: 0, configured, passwd: PASSWD })).toMatchObject({
        kind: "refused",
        reason: expect.stringMatching(/root's uid or gid/),
      });
    expect(await resolveScriptIdentity({ uid: 0, passwd: "root:x:0:0::/root:/bin/sh" })).toMatchObject({
      kind: "refused",
      reason: expect.stringMatching(/no user "nobody"/),
    });
  });

  it("finds users by name and ignores malformed lines", () => {
    expect(findUser("nobody", `garbage\n${PASSWD}`)).toEqual({ name: "nobody", uid: 65534, gid: 65534 });
    expect(findUser("ghost", PASSWD)).toBeUndefined();
  });
});

describe("the script's environment", () => {
  it("keeps the allow-list and the job's variables, and drops everything else", () => {
    const env = scriptEnvironment(
      {
        PATH: "/usr/bin",
        LC_ALL: "C",
        PYTHONPATH: "/opt/lib",
        DATABASE_URL: "postgres://u:secret@db/x",
        EDGEFLEET_TOKEN: "ef_admin",
        AWS_SECRET_ACCESS_KEY: "k",
        MQTT_URL: "mqtt://u:p@b",
      },
      { EDGEFLEET_TOKEN: "efa_attempt", EDGEFLEET_RUN_ID: "r1" },
    );
    expect(env).toEqual({
      PATH: "/usr/bin",
      LC_ALL: "C",
      PYTHONPATH: "/opt/lib",
      EDGEFLEET_TOKEN: "efa_attempt",
      EDGEFLEET_RUN_ID: "r1",
    });
  });
});
