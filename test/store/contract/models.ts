/** Contract: model registry and modules. */
import { describe, expect, it } from "vitest";
import {
  ConflictError,
  modelRepo,
  moduleRepo,
  NotFoundError,
  type RegisterVersionInput,
  ValidationError,
} from "../../../hub/repos/index.js";
import { type Manifest, ManifestSchema } from "../../../modules/manifest.js";
import { type ContractContext, fakeSha, unique } from "./context.js";

function versionInput(name: string, label = name): RegisterVersionInput {
  return {
    name,
    sha256: fakeSha(label),
    size: 1234,
    inputs: [{ name: "x", datatype: "FP32", shape: [-1, 4] }],
    outputs: [{ name: "y", datatype: "FP32", shape: [-1, 3] }],
    irVersion: 9,
    opsets: { "": 17 },
    producer: "edgefleet-test",
    metadata: { accuracy: 0.9 },
  };
}

function manifest(name: string, version: string): Manifest {
  return ManifestSchema.parse({
    schemaVersion: 1,
    name,
    version,
    model: { file: "model.onnx", sha256: fakeSha("model"), size: 10 },
    inputs: [{ name: "x", datatype: "FP32", shape: [-1, 4] }],
    outputs: [{ name: "y", datatype: "FP32", shape: [-1, 3] }],
    createdAt: "2025-01-01T00:00:00.000Z",
  });
}

/** Registers the model and module tests. */
export function modelContract(ctx: ContractContext): void {
  describe("models", () => {
    it("numbers versions 1, 2, … per model and reads them back", async () => {
      const models = modelRepo(ctx.db());
      const name = unique("iris");
      const v1 = await models.registerVersion({ ...versionInput(name, "a"), description: "first" });
      const v2 = await models.registerVersion(versionInput(name, "b"));
      expect([v1.version, v2.version]).toEqual([1, 2]);
      expect(v1).toMatchObject({
        modelName: name,
        sha256: fakeSha("a"),
        blobSha256: fakeSha("a"),
        size: 1234,
      });
      expect(v1.inputs[0]?.shape).toEqual([-1, 4]);
      expect(await models.getVersion(name, 2)).toEqual(v2);
      expect(await models.getVersionById(v1.id)).toEqual(v1);
      expect((await models.listVersions(name)).map((v) => v.version)).toEqual([1, 2]);
      const summary = (await models.listModels()).find((m) => m.name === name);
      expect(summary).toMatchObject({ description: "first", latestVersion: 2, versionCount: 2 });
      await models.registerVersion({ ...versionInput(name), description: "second" });
      expect(await models.getModel(name)).toMatchObject({ description: "second", latestVersion: 3 });
    });

    it("gives concurrent registrations distinct consecutive numbers", async () => {
      const models = modelRepo(ctx.db());
      const name = unique("race");
      const versions = await Promise.all(
        Array.from({ length: 10 }, (_, i) => models.registerVersion(versionInput(name, `v${i}`))),
      );
      expect(versions.map((v) => v.version).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 10 }, (_, i) => i + 1),
      );
    });

    it("refuses malformed input and leaves no model behind", async () => {
      const models = modelRepo(ctx.db());
      const name = unique("bad");
      const cases: Partial<RegisterVersionInput>[] = [
        { sha256: "XYZ" },
        { size: -1 },
        { name: "Bad Name" },
        { inputs: [{ name: "x", datatype: "FLOAT" as "FP32", shape: [1] }] },
      ];
      for (const change of cases) {
        await expect(models.registerVersion({ ...versionInput(name), ...change })).rejects.toBeInstanceOf(
          ValidationError,
        );
      }
      expect(await models.getModel(name)).toBeNull();
    });

    it("answers null or NotFoundError for unknown models", async () => {
      const models = modelRepo(ctx.db());
      expect(await models.getVersion(unique("none"), 1)).toBeNull();
      expect(await models.getModel(unique("none"))).toBeNull();
      await expect(models.listVersions(unique("none"))).rejects.toBeInstanceOf(NotFoundError);
    });
  });

  describe("modules", () => {
    async function modelVersionId(): Promise<number> {
      return (await modelRepo(ctx.db()).registerVersion(versionInput(unique("src")))).id;
    }

    it("creates, reads and lists module versions by semver", async () => {
      const modules = moduleRepo(ctx.db());
      const name = unique("mod");
      const id = await modelVersionId();
      for (const version of ["1.2.0", "1.10.0", "1.9.0", "2.0.0-rc.1"]) {
        await modules.create({
          name,
          version,
          modelVersionId: id,
          manifest: manifest(name, version),
          tarballSha256: fakeSha(version),
          tarballSize: 100,
        });
      }
      const got = await modules.get(name, "1.9.0");
      expect(got).toMatchObject({
        name,
        version: "1.9.0",
        modelVersionId: id,
        tarballSha256: fakeSha("1.9.0"),
      });
      expect(got?.manifest.inputs[0]?.name).toBe("x");
      expect((await modules.list(name)).map((m) => m.version)).toEqual([
        "2.0.0-rc.1",
        "1.10.0",
        "1.9.0",
        "1.2.0",
      ]);
      expect((await modules.latest(name))?.version).toBe("1.10.0");
      expect((await modules.list()).some((m) => m.name === name)).toBe(true);
    });

    it("refuses duplicates, unknown model versions and malformed input", async () => {
      const modules = moduleRepo(ctx.db());
      const name = unique("mod");
      const id = await modelVersionId();
      const input = {
        name,
        version: "1.0.0",
        modelVersionId: id,
        manifest: manifest(name, "1.0.0"),
        tarballSha256: fakeSha("t"),
        tarballSize: 5,
      };
      await modules.create(input);
      await expect(modules.create({ ...input, tarballSha256: fakeSha("u") })).rejects.toBeInstanceOf(
        ConflictError,
      );
      expect((await modules.get(name, "1.0.0"))?.tarballSha256).toBe(fakeSha("t"));
      const other = { ...input, version: "1.0.1", manifest: manifest(name, "1.0.1") };
      await expect(modules.create({ ...other, modelVersionId: 987_654 })).rejects.toBeInstanceOf(
        NotFoundError,
      );
      await expect(modules.create({ ...other, version: "1.0" })).rejects.toBeInstanceOf(ValidationError);
      await expect(modules.create({ ...other, tarballSha256: "nope" })).rejects.toBeInstanceOf(
        ValidationError,
      );
      await expect(modules.create({ ...other, manifest: manifest(name, "9.9.9") })).rejects.toBeInstanceOf(
        ValidationError,
      );
      expect(await modules.get(name, "1.0.1")).toBeNull();
    });

    it("answers null for unknown modules and versions", async () => {
      const modules = moduleRepo(ctx.db());
      expect(await modules.get(unique("none"), "1.0.0")).toBeNull();
      expect(await modules.latest(unique("none"))).toBeNull();
      expect(await modules.list(unique("none"))).toEqual([]);
    });
  });
}
