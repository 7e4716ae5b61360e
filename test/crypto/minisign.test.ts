import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { inspect } from "node:util";
import { describe, test } from "node:test";
import {
  contextMismatch,
  formatTrustedComment,
  generateSigningKey,
  loadSigningKey,
  parsePublicKey,
  parseTrustedComment,
  requireSignedObject,
  sign,
  signWithKey,
  SignatureError,
  verify,
  verifySignedObject,
  type VerifyResult,
} from "../../src/crypto/minisign/index.js";
import { blake2b } from "../../src/crypto/minisign/blake2b.js";
import { scryptParameters } from "../../src/crypto/minisign/keys.js";
import { InputError } from "../../src/domain/errors.js";
import {
  SK,
  assertNoSecret,
  decodeLine,
  protectWithInteractiveLimits,
  replaceLine,
} from "./minisign-helpers.js";

const COMMENT =
  "lifeboat manifest label=app backup=20261129T013000Z-abc123 file=manifest.json timestamp=1795915800";

function failure(result: VerifyResult): { reason: string; message: string } {
  assert.equal(result.ok, false, "expected the verification to fail");
  if (result.ok) throw new Error("unreachable");
  assert.doesNotMatch(result.message, /\n/);
  return result;
}

/** A signature file with one byte of line `line`'s decoded content XORed. */
function flipByte(signature: string, line: number, offset: number): string {
  const bytes = decodeLine(signature, line);
  bytes[offset]! ^= 0x01;
  return replaceLine(signature, line, bytes.toString("base64"));
}

function assertInputError(action: () => unknown, pattern: RegExp, secrets: string[] = []): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof InputError, `expected an InputError, got ${String(error)}`);
    assert.match(error.message, pattern);
    assert.doesNotMatch(error.message, /\n/);
    assertNoSecret(error.message, secrets);
    return true;
  });
}

async function assertRejectsInput(
  action: () => Promise<unknown>,
  pattern: RegExp,
  secrets: string[],
): Promise<void> {
  await assert.rejects(action, (error: unknown) => {
    assert.ok(error instanceof InputError, `expected an InputError, got ${String(error)}`);
    assert.match(error.message, pattern);
    assert.doesNotMatch(error.message, /\n/);
    assertNoSecret(error.message, secrets);
    return true;
  });
}

describe("BLAKE2b", () => {
  test("matches RFC 7693's BLAKE2b-512 vector and the published 256-bit digests", () => {
    assert.equal(
      blake2b(Buffer.from("abc"), 64).toString("hex"),
      "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
    );
    assert.equal(
      blake2b(Buffer.alloc(0), 32).toString("hex"),
      "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8",
    );
    assert.equal(
      blake2b(Buffer.from("abc"), 32).toString("hex"),
      "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319",
    );
  });

  test("agrees with Node's blake2b512 around the 128-byte block boundaries", () => {
    for (const size of [0, 1, 74, 127, 128, 129, 255, 256, 257, 1000]) {
      const data = randomBytes(size);
      assert.deepEqual(blake2b(data, 64), createHash("blake2b512").update(data).digest(), `size ${size}`);
    }
  });
});

describe("scrypt parameters from minisign's opslimit and memlimit", () => {
  test("follow libsodium: sensitive is N=2^20, interactive N=2^14, both r=8 p=1", () => {
    assert.deepEqual(scryptParameters(33_554_432n, 1_073_741_824n), { N: 2n ** 20n, r: 8n, p: 1n });
    assert.deepEqual(scryptParameters(524_288n, 16_777_216n), { N: 2n ** 14n, r: 8n, p: 1n });
    // minisign halves both limits when memory is short; ops below memory/32 takes the other branch.
    assert.deepEqual(scryptParameters(16_777_216n, 536_870_912n), { N: 2n ** 19n, r: 8n, p: 1n });
    assert.deepEqual(scryptParameters(1000n, 1_073_741_824n), { N: 2n ** 10n, r: 8n, p: 1n });
  });
});

describe("minisign keys", () => {
  test("a generated pair: the public file names the key id, the secret loads to the same key", async () => {
    const key = await generateSigningKey({ comment: "for app" });
    assert.match(key.keyId, /^[1-9A-F][0-9A-F]{0,15}$|^0$/);
    const [comment, line] = key.publicKeyText.split("\n");
    assert.equal(comment, `untrusted comment: minisign public key ${key.keyId} for app`);
    assert.equal(decodeLine(key.publicKeyText, 1).subarray(0, 2).toString(), "Ed");
    assert.equal(parsePublicKey(key.publicKeyText).keyId, key.keyId);
    assert.match(key.secretKeyText, /^untrusted comment: .*unencrypted.*\n[A-Za-z0-9+/]+=*\n$/);
    const loaded = await loadSigningKey(key.secretKeyText);
    assert.equal(loaded.keyId, key.keyId);
    assert.equal(loaded.publicKey.base64, line);
    // Unlike `minisign -G -W`, ours carry the checksum, so a damaged key is caught.
    const struct = decodeLine(key.secretKeyText, 1);
    assert.equal(struct.subarray(SK.kdf, SK.kdf + 2).toString("latin1"), "\0\0");
    assert.ok(struct.subarray(SK.checksum).some((byte) => byte !== 0));
  });

  test("printing or serialising a loaded key shows its id and nothing secret", async () => {
    const key = await generateSigningKey();
    const secretLine = key.secretKeyText.split("\n")[1]!;
    const seed = decodeLine(key.secretKeyText, 1).subarray(SK.secret, SK.secret + 32);
    for (const shown of [inspect(key.signingKey), JSON.stringify(key.signingKey), String(key.signingKey)]) {
      assertNoSecret(shown, [secretLine, seed.toString("hex"), seed.toString("base64")]);
    }
    assert.match(inspect(key.signingKey), new RegExp(key.keyId));
  });

  test("a public key is read from its file, its bare base64 line, CRLF lines, or with blank lines after", async () => {
    const { publicKeyText, keyId } = await generateSigningKey();
    const line = publicKeyText.split("\n")[1]!;
    for (const text of [publicKeyText, line, publicKeyText.replace(/\n/g, "\r\n"), `${publicKeyText}\n\n`]) {
      assert.equal(parsePublicKey(text).keyId, keyId);
    }
  });

  test("a malformed public key is an InputError naming the input", async () => {
    const { publicKeyText, secretKeyText } = await generateSigningKey();
    const line = publicKeyText.split("\n")[1]!;
    const struct = decodeLine(publicKeyText, 1);
    const otherAlgorithm = Buffer.from(struct);
    otherAlgorithm.write("XX", 0);
    const cases: [string, RegExp][] = [
      ["", /trusted-key: expected a minisign public key/],
      [`comment without prefix\n${line}\n`, /expected a minisign public key/],
      [`${publicKeyText}extra line\n`, /expected a minisign public key/],
      [line.slice(0, -4), /base64 of 42 bytes/],
      [`${line}=`, /base64 of 42 bytes/],
      [otherAlgorithm.toString("base64"), /unsupported public key algorithm/],
      [secretKeyText, /this is a minisign secret key; give its public key/],
      [`age1${"q".repeat(58)}`, /expected a minisign public key/],
    ];
    for (const [text, pattern] of cases)
      assertInputError(() => parsePublicKey(text), pattern, [secretKeyText.split("\n")[1]!]);
    assertInputError(() => parsePublicKey("RW", { input: "trusted-key[2]" }), /^trusted-key\[2\]: /);
  });

  test("a damaged or mistaken secret key is refused without quoting any of it", async () => {
    const key = await generateSigningKey();
    const struct = decodeLine(key.secretKeyText, 1);
    const secrets = [
      key.secretKeyText.split("\n")[1]!,
      struct.subarray(SK.secret, SK.checksum).toString("hex"),
    ];
    const variant = (change: (bytes: Buffer) => void): string => {
      const bytes = Buffer.from(struct);
      change(bytes);
      return replaceLine(key.secretKeyText, 1, bytes.toString("base64"));
    };
    const cases: [string, RegExp][] = [
      [key.publicKeyText, /signing-key: this is a minisign public key/],
      ["", /signing-key: expected a minisign secret key/],
      [variant((bytes) => (bytes[SK.checksum]! ^= 1)), /damaged \(its checksum does not match\)/],
      [variant((bytes) => (bytes[SK.secret + 40]! ^= 1)), /damaged \(its checksum does not match\)/],
      [variant((bytes) => bytes.write("Zz", SK.kdf)), /unsupported key derivation/],
      [variant((bytes) => bytes.write("S2", 4)), /unsupported checksum/],
      [variant((bytes) => bytes.write("ED", 0)), /unsupported secret key algorithm/],
      [key.secretKeyText.split("\n")[1]!.slice(0, 100), /base64 of 158 bytes/],
    ];
    for (const [text, pattern] of cases)
      await assertRejectsInput(() => loadSigningKey(text), pattern, secrets);
    // With the checksum zeroed (as `minisign -G -W` writes it) a changed public half is still caught.
    const inconsistent = variant((bytes) => {
      bytes.fill(0, SK.checksum);
      bytes[SK.secret + 40]! ^= 1;
    });
    await assertRejectsInput(() => loadSigningKey(inconsistent), /public half does not match/, secrets);
    const zeroChecksum = variant((bytes) => bytes.fill(0, SK.checksum));
    assert.equal((await loadSigningKey(zeroChecksum)).keyId, key.keyId);
  });

  test("a password-protected key loads with its password only, and no message quotes key or password", async () => {
    const key = await generateSigningKey();
    const password = "correct horse battery staple";
    const text = protectWithInteractiveLimits(key.secretKeyText, password);
    const secrets = [text.split("\n")[1]!, key.secretKeyText.split("\n")[1]!, password];
    assert.equal((await loadSigningKey(text, { password })).keyId, key.keyId);
    await assertRejectsInput(
      () => loadSigningKey(text),
      /password-protected and no password was given/,
      secrets,
    );
    await assertRejectsInput(
      () =>
        loadSigningKey(text, { password: "correct horse battery stapler", input: "LIFEBOAT_SIGNING_KEY" }),
      /^LIFEBOAT_SIGNING_KEY: wrong password/,
      secrets,
    );
    const costly = decodeLine(text, 1);
    costly.writeBigUInt64LE(2n ** 40n, SK.opslimit);
    costly.writeBigUInt64LE(2n ** 40n, SK.memlimit);
    await assertRejectsInput(
      () => loadSigningKey(replaceLine(text, 1, costly.toString("base64")), { password }),
      /beyond what minisign writes/,
      secrets,
    );
  });
});

describe("minisign signatures", () => {
  test("sign then verify, for empty, small and 1 MB data: prehashed, with the comments given", async () => {
    const key = await generateSigningKey();
    for (const size of [0, 1, 1_000_000]) {
      const data = randomBytes(size);
      const signature = await sign(data, key.secretKeyText, {
        trustedComment: COMMENT,
        untrustedComment: "hi",
      });
      const lines = signature.split("\n");
      assert.equal(lines.length, 5);
      assert.equal(lines[0], "untrusted comment: hi");
      assert.equal(decodeLine(signature, 1).subarray(0, 2).toString(), "ED");
      assert.equal(lines[2], `trusted comment: ${COMMENT}`);
      assert.equal(lines[4], "");
      const result = verify(data, signature, key.publicKeyText);
      assert.deepEqual(result, {
        ok: true,
        keyId: key.keyId,
        trustedComment: COMMENT,
        untrustedComment: "hi",
        prehashed: true,
      });
    }
  });

  test("each kind of tampering fails with its own reason", async () => {
    const key = await generateSigningKey();
    const data = Buffer.from('{"label":"app"}\n');
    const signature = signWithKey(data, key.signingKey, { trustedComment: COMMENT });
    assert.equal(verify(data, signature, key.publicKeyText).ok, true);

    const changedData = Buffer.from('{"label":"apq"}\n');
    assert.equal(failure(verify(changedData, signature, key.publicKeyText)).reason, "bad-signature");
    assert.equal(
      failure(verify(data, flipByte(signature, 1, 40), key.publicKeyText)).reason,
      "bad-signature",
    );

    const otherId = failure(verify(data, flipByte(signature, 1, 2), key.publicKeyText));
    assert.equal(otherId.reason, "unknown-key");
    assert.match(
      otherId.message,
      new RegExp(`^signed by another key: key id [0-9A-F]{1,16}, trusted ${key.keyId}$`),
    );

    const movedComment = signature.replace("label=app", "label=other");
    assert.equal(failure(verify(data, movedComment, key.publicKeyText)).reason, "bad-trusted-comment");
    assert.equal(
      failure(verify(data, flipByte(signature, 3, 0), key.publicKeyText)).reason,
      "bad-trusted-comment",
    );

    const legacy = decodeLine(signature, 1);
    legacy.write("Ed", 0);
    const asLegacy = replaceLine(signature, 1, legacy.toString("base64"));
    assert.equal(failure(verify(data, asLegacy, key.publicKeyText)).reason, "legacy-algorithm");
    // Allowed, a legacy signature is checked over the raw bytes, so this prehashed one fails.
    assert.equal(
      failure(verify(data, asLegacy, key.publicKeyText, { allowLegacy: true })).reason,
      "bad-signature",
    );
    legacy.write("EX", 0);
    assert.equal(
      failure(verify(data, replaceLine(signature, 1, legacy.toString("base64")), key.publicKeyText)).reason,
      "malformed",
    );

    // The untrusted comment is not signed, by design: changing it changes nothing.
    const relabelled = replaceLine(signature, 0, "untrusted comment: anything");
    assert.equal(verify(data, relabelled, key.publicKeyText).ok, true);
  });

  test("another key's signature is 'unknown-key'; with both keys trusted (rotation) both verify", async () => {
    const [old, next] = [await generateSigningKey(), await generateSigningKey()];
    const data = randomBytes(100);
    const byOld = signWithKey(data, old.signingKey, { trustedComment: COMMENT });
    const byNext = signWithKey(data, next.signingKey, { trustedComment: COMMENT });
    const foreign = failure(verify(data, byOld, next.publicKeyText));
    assert.equal(foreign.reason, "unknown-key");
    assert.match(foreign.message, new RegExp(`key id ${old.keyId}, trusted ${next.keyId}`));
    const both = [old.publicKeyText, parsePublicKey(next.publicKeyText)];
    assert.equal(verify(data, byOld, both).ok && verify(data, byNext, both).ok, true);
    // Someone else's key under the same id (a forged key id) still does not verify.
    const impostor = Buffer.concat([
      decodeLine(old.publicKeyText, 1).subarray(0, 10),
      decodeLine(next.publicKeyText, 1).subarray(10),
    ]);
    assert.equal(failure(verify(data, byOld, impostor.toString("base64"))).reason, "bad-signature");
    assertInputError(() => verify(data, byOld, []), /no trusted key/);
    assertInputError(() => verify(data, byOld, "not a key"), /trusted-key: expected a minisign public key/);
  });

  test("a signature that is not one is 'malformed', naming the problem; CRLF endings are fine", async () => {
    const key = await generateSigningKey();
    const data = randomBytes(10);
    const signature = signWithKey(data, key.signingKey, { trustedComment: COMMENT });
    const lines = signature.split("\n");
    assert.equal(verify(data, signature.replace(/\n/g, "\r\n"), key.publicKeyText).ok, true);
    const cases: [string, RegExp][] = [
      ["", /found 0/],
      [lines.slice(0, 3).join("\n"), /found 3/],
      [`${signature}more\n`, /found 5/],
      [replaceLine(signature, 0, "comment: x"), /line 1 does not start with "untrusted comment:"/],
      [replaceLine(signature, 2, `trusted: ${COMMENT}`), /line 3 does not start with "trusted comment:"/],
      [replaceLine(signature, 1, lines[1]!.slice(4)), /line 2 is not base64 of 74 bytes/],
      [replaceLine(signature, 3, `${lines[3]!}=`), /line 4 is not base64 of 64 bytes/],
      [replaceLine(signature, 3, `${lines[3]!.slice(0, -3)}h==`), /line 4 is not base64/],
    ];
    for (const [text, pattern] of cases) {
      const result = failure(verify(data, text, key.publicKeyText));
      assert.equal(result.reason, "malformed");
      assert.match(result.message, pattern);
    }
  });

  test("comments that minisign could not carry are refused when signing", async () => {
    const key = await generateSigningKey();
    for (const trustedComment of ["two\nlines", "carriage\rreturn", "nul\0byte", "x".repeat(8174)]) {
      assertInputError(
        () => signWithKey(Buffer.alloc(1), key.signingKey, { trustedComment }),
        /trusted comment must be/,
      );
    }
    assertInputError(
      () => signWithKey(Buffer.alloc(1), key.signingKey, { trustedComment: "ok", untrustedComment: "a\nb" }),
      /untrusted comment must be one line/,
    );
    const tab = "timestamp:1\tfile:x\tünïcode";
    const signature = signWithKey(Buffer.alloc(1), key.signingKey, { trustedComment: tab });
    assert.equal(
      (verify(Buffer.alloc(1), signature, key.publicKeyText) as { trustedComment: string }).trustedComment,
      tab,
    );
  });
});

describe("the Lifeboat signed context", () => {
  const manifest = {
    kind: "manifest",
    label: "app",
    backupId: "20261129T013000Z-abc123",
    file: "manifest.json",
  };

  test("formats as the trusted comment and parses back exactly, with or without a backup", () => {
    assert.equal(formatTrustedComment({ ...manifest, timestamp: 1795915800 }), COMMENT);
    assert.deepEqual(parseTrustedComment(COMMENT), { ...manifest, timestamp: 1795915800 });
    const audit = { kind: "audit", label: "app", file: "_audit/20261129T013000Z-restore.json", timestamp: 0 };
    assert.equal(
      formatTrustedComment(audit),
      "lifeboat audit label=app file=_audit/20261129T013000Z-restore.json timestamp=0",
    );
    assert.deepEqual(parseTrustedComment(formatTrustedComment(audit)), audit);
  });

  test("anything written another way is not a Lifeboat comment", () => {
    for (const text of [
      "timestamp:1795915958\tfile:manifest.json\thashed",
      `${COMMENT} `,
      COMMENT.replace("label=app backup", "backup=20261129T013000Z-abc123 label=app backup"),
      COMMENT.replace("timestamp=1795915800", "timestamp=01"),
      COMMENT.replace("label=app", "label=a b"),
      COMMENT.replace("lifeboat manifest", "lifeboat Manifest"),
    ]) {
      assert.equal(parseTrustedComment(text), undefined, text);
    }
  });

  test("values that would need escaping are refused when signing", () => {
    assertInputError(() => formatTrustedComment({ ...manifest, label: "a b", timestamp: 1 }), /label "a b"/);
    assertInputError(() => formatTrustedComment({ ...manifest, file: "x=y", timestamp: 1 }), /file "x=y"/);
    assertInputError(() => formatTrustedComment({ ...manifest, kind: "Manifest", timestamp: 1 }), /kind/);
    assertInputError(() => formatTrustedComment({ ...manifest, timestamp: 1.5 }), /timestamp/);
  });

  test("a signed manifest read from another label, backup or file fails as 'wrong-context'", async () => {
    const key = await generateSigningKey();
    const data = Buffer.from('{"backupId":"20261129T013000Z-abc123"}');
    const signature = signWithKey(data, key.signingKey, {
      trustedComment: formatTrustedComment({ ...manifest, timestamp: 1795915800 }),
    });
    const good = verifySignedObject(data, signature, key.publicKeyText, manifest);
    assert.equal(good.ok, true);
    assert.deepEqual(good.ok && good.context, { ...manifest, timestamp: 1795915800 });
    const elsewhere = [
      { ...manifest, label: "prod" },
      { ...manifest, backupId: "20261201T000000Z-zzz999" },
      { ...manifest, file: "checks/20261129T013500Z-restore-test-pass.json", kind: "check" },
    ];
    for (const expected of elsewhere) {
      const result = verifySignedObject(data, signature, key.publicKeyText, expected);
      assert.equal(result.ok, false);
      assert.equal(!result.ok && result.reason, "wrong-context");
      assert.match(
        !result.ok ? result.message : "",
        /^signed as manifest label=app backup=20261129T013000Z-abc123 file=manifest.json, but read as /,
      );
    }
    assert.throws(
      () =>
        requireSignedObject(
          "app/20261201T000000Z-zzz999/manifest.json",
          data,
          signature,
          key.publicKeyText,
          elsewhere[1]!,
        ),
      (error: unknown) =>
        error instanceof SignatureError &&
        error.reason === "wrong-context" &&
        error.exitCode === 1 &&
        error.message.startsWith("app/20261201T000000Z-zzz999/manifest.json: signed as manifest"),
    );
    const tampered = verifySignedObject(Buffer.from("{}"), signature, key.publicKeyText, manifest);
    assert.equal(!tampered.ok && tampered.reason, "bad-signature");
  });

  test("a valid signature whose trusted comment is not ours is 'wrong-context' too", async () => {
    const key = await generateSigningKey();
    const signature = signWithKey(Buffer.alloc(3), key.signingKey, {
      trustedComment: "timestamp:1\tfile:manifest.json",
    });
    const result = verifySignedObject(Buffer.alloc(3), signature, key.publicKeyText, manifest);
    assert.equal(!result.ok && result.reason, "wrong-context");
    assert.match(!result.ok ? result.message : "", /not a Lifeboat one/);
    assert.equal(contextMismatch({ ...manifest, timestamp: 5 }, manifest), undefined);
  });
});
