import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, test } from "node:test";
import {
  createDecryptStream,
  createEncryptStream,
  generateIdentity,
  parseIdentities,
  parseRecipient,
  parseRecipients,
  passphraseIdentity,
  passphraseRecipient,
  recipientOf,
  type Identity,
} from "../../src/crypto/age/index.js";
import { encode } from "../../src/crypto/age/bech32.js";
import { encodeBase64, encodeHeaderWithoutMac, encodeMacLine } from "../../src/crypto/age/format.js";
import { InputError, OperationError } from "../../src/domain/errors.js";
import { buildFile, decrypt, encrypt, payloadOffset } from "./age-helpers.js";

const CHUNK = 65536;
const SEALED_CHUNK = CHUNK + 16;

function newKeys(count: number): { identities: Identity[]; recipients: ReturnType<typeof parseRecipient>[] } {
  const pairs = Array.from({ length: count }, () => generateIdentity());
  return {
    identities: pairs.map(({ identity }) => parseIdentities(identity)[0]!),
    recipients: pairs.map(({ recipient }) => parseRecipient(recipient)),
  };
}

function assertOperationError(error: unknown, pattern: RegExp): void {
  assert.ok(error instanceof OperationError, `expected an OperationError, got ${String(error)}`);
  assert.match(error.message, pattern);
  assert.doesNotMatch(error.message, /\n/);
}

function sink(each: (chunk: Buffer) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      each(chunk);
      callback();
    },
  });
}

const SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 1_000_003];

describe("age round trips", () => {
  for (const size of SIZES) {
    test(`${size} bytes to one recipient, fed in odd-sized pieces`, async () => {
      const { identities, recipients } = newKeys(1);
      const plaintext = randomBytes(size);
      const file = await encrypt(plaintext, recipients, 4099);
      // Header, nonce, then one tag per chunk; an empty plaintext is one empty (last) chunk, and a
      // multiple of 64 KiB ends with a full last chunk rather than an extra empty one.
      const chunks = Math.max(1, Math.ceil(size / CHUNK));
      assert.equal(file.length, payloadOffset(file) + size + 16 * chunks);
      for (const pieceSize of [SEALED_CHUNK + 1, 1000, 65536]) {
        const { plaintext: decrypted, error } = await decrypt(file, identities, pieceSize);
        assert.equal(error, undefined);
        assert.ok(decrypted.equals(plaintext));
      }
    });

    test(`${size} bytes to three recipients, each of which can decrypt`, async () => {
      const { identities, recipients } = newKeys(3);
      const plaintext = randomBytes(size);
      const file = await encrypt(plaintext, recipients, size || 1);
      for (const identity of identities) {
        const { plaintext: decrypted, error } = await decrypt(file, [identity]);
        assert.equal(error, undefined);
        assert.ok(decrypted.equals(plaintext));
      }
    });

    test(`${size} bytes with a passphrase (work factor 10)`, async () => {
      const plaintext = randomBytes(size);
      const file = await encrypt(plaintext, [passphraseRecipient("correct horse battery staple", 10)]);
      assert.match(file.toString("latin1", 0, 80), /^age-encryption\.org\/v1\n-> scrypt \S{22} 10\n/);
      const { plaintext: decrypted, error } = await decrypt(file, [
        passphraseIdentity("correct horse battery staple"),
      ]);
      assert.equal(error, undefined);
      assert.ok(decrypted.equals(plaintext));
    });
  }

  test("a passphrase at the default work factor (2^18)", async () => {
    const plaintext = randomBytes(1000);
    const file = await encrypt(plaintext, [passphraseRecipient("pass phrase")]);
    assert.match(file.toString("latin1", 0, 80), /^age-encryption\.org\/v1\n-> scrypt \S{22} 18\n/);
    const { plaintext: decrypted, error } = await decrypt(file, [passphraseIdentity("pass phrase")]);
    assert.equal(error, undefined);
    assert.ok(decrypted.equals(plaintext));
  });

  test("the identity that matches is found among several", async () => {
    const { identities, recipients } = newKeys(3);
    const file = await encrypt(Buffer.from("hello"), [recipients[2]!]);
    const { plaintext, error } = await decrypt(file, [
      identities[0]!,
      passphraseIdentity("x"),
      identities[2]!,
    ]);
    assert.equal(error, undefined);
    assert.equal(plaintext.toString(), "hello");
  });

  test("a throughput print for a 64 MiB stream (informational, no assertion on speed)", async () => {
    const { identities, recipients } = newKeys(1);
    const block = randomBytes(1024 * 1024);
    const blocks = Array.from({ length: 64 }, () => block);
    // Discarding sinks: collecting 64 MiB of fresh buffers would mostly measure page faults.
    const encrypted: Buffer[] = [];
    let start = performance.now();
    await pipeline(
      Readable.from(blocks),
      createEncryptStream(recipients),
      sink((chunk) => encrypted.push(chunk)),
    );
    const encryptSeconds = (performance.now() - start) / 1000;
    let decryptedLength = 0;
    start = performance.now();
    await pipeline(
      Readable.from(encrypted),
      createDecryptStream(identities),
      sink((chunk) => (decryptedLength += chunk.length)),
    );
    const decryptSeconds = (performance.now() - start) / 1000;
    assert.equal(decryptedLength, 64 * 1024 * 1024);
    console.log(
      `age throughput (in memory, 64 MiB): encrypt ${(64 / encryptSeconds).toFixed(0)} MiB/s, ` +
        `decrypt ${(64 / decryptSeconds).toFixed(0)} MiB/s`,
    );
  });
});

describe("age decryption failures", () => {
  test("a wrong identity", async () => {
    const mine = newKeys(1);
    const theirs = newKeys(2);
    const file = await encrypt(randomBytes(100), theirs.recipients);
    const { plaintext, error } = await decrypt(file, mine.identities);
    assertOperationError(
      error,
      /^no identity matches any recipient of this file \(its recipients: 2 X25519\)$/,
    );
    assert.equal(plaintext.length, 0);
  });

  test("a wrong passphrase, and a passphrase file given only a key", async () => {
    const file = await encrypt(randomBytes(100), [passphraseRecipient("right", 10)]);
    const wrong = await decrypt(file, [passphraseIdentity("wrong")]);
    assertOperationError(wrong.error, /^the passphrase is incorrect for this file$/);
    assert.equal(wrong.plaintext.length, 0);
    const keyOnly = await decrypt(file, newKeys(1).identities);
    assertOperationError(keyOnly.error, /encrypted with a passphrase, and no passphrase was given/);
  });

  test("a passphrase work factor above the identity's maximum is refused before any scrypt", async () => {
    const file = await encrypt(randomBytes(100), [passphraseRecipient("pass", 12)]);
    const { error } = await decrypt(file, [passphraseIdentity("pass", 11)]);
    assertOperationError(error, /scrypt work factor 2\^12 is above the accepted maximum 2\^11/);
  });

  test("work factors above 22 are refused by default (a file's author chooses them)", async () => {
    // Hand-made: encrypting at 2^23 would itself take 8 GiB. The stanza is refused before its MAC
    // or body are looked at, so they need not be valid.
    const stanza = { type: "scrypt", args: [encodeBase64(randomBytes(16)), "23"], body: randomBytes(32) };
    const header = encodeHeaderWithoutMac([stanza]);
    const file = Buffer.concat([header, encodeMacLine(randomBytes(32)), randomBytes(16 + 32)]);
    const { error } = await decrypt(file, [passphraseIdentity("pass")]);
    assertOperationError(error, /scrypt work factor 2\^23 is above the accepted maximum 2\^22/);
  });

  test("every single flipped byte in the header is rejected, with no plaintext emitted", async () => {
    const { identities, recipients } = newKeys(1);
    const file = await encrypt(randomBytes(1000), recipients);
    const headerEnd = payloadOffset(file) - 16;
    for (let index = 0; index < headerEnd; index++) {
      const tampered = Buffer.from(file);
      tampered[index] ^= 0x01;
      const { plaintext, error } = await decrypt(tampered, identities);
      assert.ok(error instanceof OperationError, `flipping header byte ${index} was not detected`);
      assert.equal(plaintext.length, 0);
    }
  });

  test("a flipped header MAC is reported as tampering", async () => {
    const { identities, recipients } = newKeys(1);
    const file = await encrypt(randomBytes(1000), recipients);
    // The MAC's second-to-last base64 character: every value of it is canonical base64 (the last
    // character's low bits must be zero), so the line still parses and only the MAC is wrong.
    const macCharacter = payloadOffset(file) - 16 - 3;
    file[macCharacter] = file[macCharacter] === 0x41 ? 0x42 : 0x41;
    const { error } = await decrypt(file, identities);
    assertOperationError(
      error,
      /^the file is corrupted or was tampered with: the header's MAC does not match$/,
    );
  });

  describe("a flipped payload byte fails its chunk, and only earlier chunks are emitted", async () => {
    const { identities, recipients } = newKeys(1);
    const plaintext = randomBytes(3 * CHUNK + 500);
    const file = await encrypt(plaintext, recipients);
    const start = payloadOffset(file);
    const cases = [
      { name: "the payload nonce", at: start - 1, chunk: 0 },
      { name: "the first chunk", at: start + 10, chunk: 0 },
      { name: "the first chunk's tag", at: start + SEALED_CHUNK - 1, chunk: 0 },
      { name: "a middle chunk", at: start + SEALED_CHUNK + 30_000, chunk: 1 },
      { name: "the last chunk", at: start + 3 * SEALED_CHUNK + 3, chunk: 3 },
      { name: "the last byte", at: file.length - 1, chunk: 3 },
    ];
    for (const { name, at, chunk } of cases) {
      test(name, async () => {
        for (const pieceSize of [65536, 7]) {
          const tampered = Buffer.from(file);
          tampered[at] ^= 0x80;
          const { plaintext: emitted, error } = await decrypt(tampered, identities, pieceSize);
          assertOperationError(
            error,
            new RegExp(
              `^the file is corrupted or was tampered with: chunk ${chunk + 1} failed authentication$`,
            ),
          );
          assert.ok(emitted.equals(plaintext.subarray(0, chunk * CHUNK)));
        }
      });
    }
  });

  test("truncation anywhere is detected, including exactly at a chunk boundary", async () => {
    const { identities, recipients } = newKeys(1);
    const plaintext = randomBytes(3 * CHUNK + 500);
    const file = await encrypt(plaintext, recipients);
    const start = payloadOffset(file);
    const cuts = [
      { at: 0, message: /^the input is empty, not an age file$/ },
      { at: 10, message: /^the file is truncated: it ends inside the age header$/ },
      { at: start - 20, message: /^the file is truncated: it ends inside the age header$/ },
      { at: start - 16, message: /^the file is truncated: it ends before the payload's nonce is complete$/ },
      { at: start - 3, message: /^the file is truncated: it ends before the payload's nonce is complete$/ },
      { at: start, message: /^the file is truncated: the payload has no chunks$/ },
      {
        at: start + 5,
        message: /^the file is truncated: chunk 1 is shorter than its 16-byte authentication tag$/,
      },
      { at: start + 1000, message: /chunk 1 failed authentication/ },
      {
        at: start + SEALED_CHUNK,
        message: /^the file is truncated: it ends after chunk 1, which is not marked as the last chunk$/,
      },
      {
        at: start + 2 * SEALED_CHUNK,
        message: /^the file is truncated: it ends after chunk 2, which is not marked as the last chunk$/,
      },
      {
        at: start + 3 * SEALED_CHUNK,
        message: /^the file is truncated: it ends after chunk 3, which is not marked as the last chunk$/,
      },
      { at: start + 3 * SEALED_CHUNK + 16, message: /chunk 4 failed authentication/ },
      { at: file.length - 1, message: /chunk 4 failed authentication/ },
    ];
    for (const { at, message } of cuts) {
      const { plaintext: emitted, error } = await decrypt(file.subarray(0, at), identities);
      assertOperationError(error, message);
      // Whatever came out is whole authenticated chunks from the start, never the cut chunk.
      assert.equal(emitted.length % CHUNK, 0);
      assert.ok(emitted.equals(plaintext.subarray(0, emitted.length)));
      assert.ok(emitted.length <= Math.max(0, at - start));
    }
  });

  test("trailing data after the last chunk is rejected", async () => {
    const { identities, recipients } = newKeys(1);
    for (const size of [100, CHUNK, 2 * CHUNK]) {
      const file = await encrypt(randomBytes(size), recipients);
      for (const garbage of [Buffer.from([0]), randomBytes(17), randomBytes(70_000)]) {
        const { error } = await decrypt(Buffer.concat([file, garbage]), identities);
        assert.ok(error instanceof OperationError, `trailing ${garbage.length} bytes after ${size} accepted`);
      }
    }
    // After a full last chunk, the trailing data is recognisable as such; the authentic last chunk
    // is released before the failure, as the reference implementation does.
    const original = randomBytes(CHUNK);
    const file = await encrypt(original, recipients);
    const { error, plaintext } = await decrypt(Buffer.concat([file, Buffer.from("x")]), identities);
    assertOperationError(error, /trailing data after the last chunk \(chunk 1\)/);
    assert.ok(plaintext.equals(original));
  });

  test("an empty last chunk after a full chunk is rejected; alone it is the empty file", async () => {
    const { identities, recipients } = newKeys(1);
    const first = randomBytes(CHUNK);
    const invalid = await buildFile(recipients[0]!, [
      { plaintext: first, last: false },
      { plaintext: Buffer.alloc(0), last: true },
    ]);
    const { error, plaintext } = await decrypt(invalid, identities);
    assertOperationError(error, /chunk 2 is an empty last chunk after other chunks/);
    assert.ok(plaintext.equals(first));
    const empty = await buildFile(recipients[0]!, [{ plaintext: Buffer.alloc(0), last: true }]);
    assert.deepEqual(await decrypt(empty, identities), { plaintext: Buffer.alloc(0), error: undefined });
  });

  test("a chunk marked last that is followed by another chunk is rejected", async () => {
    const { identities, recipients } = newKeys(1);
    const first = randomBytes(CHUNK);
    const file = await buildFile(recipients[0]!, [
      { plaintext: first, last: true },
      { plaintext: randomBytes(10), last: true },
    ]);
    const { error, plaintext } = await decrypt(file, identities);
    assertOperationError(error, /trailing data after the last chunk \(chunk 1\)/);
    assert.ok(plaintext.equals(first));
  });

  test("input that is not a binary age file is named as such", async () => {
    const identities = newKeys(1).identities;
    const cases = [
      { input: "PGDMP plain dump", message: /^the input is not an age file/ },
      { input: "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n", message: /ASCII-armored/ },
      { input: "age-encryption.org/v2\n-> x\n\n--- x\n", message: /unsupported age format version/ },
    ];
    for (const { input, message } of cases) {
      assertOperationError((await decrypt(Buffer.from(input), identities, 3)).error, message);
    }
    const endless = Buffer.concat([
      Buffer.from("age-encryption.org/v1\n-> x\n"),
      Buffer.alloc(2_000_000, "A"),
    ]);
    assertOperationError((await decrypt(endless, identities)).error, /no header MAC line within the first/);
  });
});

describe("age keys", () => {
  test("generateIdentity gives age-keygen's textual forms, and recipientOf derives the public key", () => {
    const { identity, recipient } = generateIdentity();
    assert.match(identity, /^AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}$/);
    assert.match(recipient, /^age1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$/);
    assert.equal(recipientOf(identity), recipient);
    assert.equal(recipientOf(parseIdentities(identity)[0]!), recipient);
    assert.equal(parseRecipient(recipient).toString(), recipient);
  });

  test("the spec's example key pair", () => {
    assert.equal(
      recipientOf("AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"),
      "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj",
    );
  });

  test("an identity file with comments, blank lines and CRLF line ends", () => {
    const a = generateIdentity();
    const b = generateIdentity();
    const text = `# created: 2024-01-01T00:00:00Z\r\n# public key: ${a.recipient}\r\n${a.identity}\r\n\r\n  ${b.identity}  \n`;
    const identities = parseIdentities(text);
    assert.deepEqual(
      identities.map((identity) => recipientOf(identity)),
      [a.recipient, b.recipient],
    );
  });

  test("a recipients file", () => {
    const a = generateIdentity();
    const b = generateIdentity();
    const recipients = parseRecipients(`# team\n${a.recipient}\n\n${b.recipient}\n`);
    assert.deepEqual(recipients.map(String), [a.recipient, b.recipient]);
    assert.throws(() => parseRecipients("# nothing\n"), InputError);
  });

  describe("malformed recipients are InputErrors naming the problem and the expected form", () => {
    const valid = generateIdentity().recipient;
    const form = "expected an age X25519 public key \\(age1 followed by 58 characters\\)";
    const cases = [
      {
        name: "too short",
        text: "age1abc",
        message: `^recipient "age1abc": ${form}, but it has 3 characters after age1$`,
      },
      {
        name: "wrong prefix (HRP)",
        text: encode("agf", randomBytes(32)),
        message: "but it does not start with age1$",
      },
      {
        name: "a bad checksum",
        text: valid.slice(0, -1) + (valid.endsWith("q") ? "p" : "q"),
        message: "its checksum does not match",
      },
      {
        name: "a typo in the data",
        text: valid.slice(0, 10) + (valid[10] === "q" ? "p" : "q") + valid.slice(11),
        message: "its checksum does not match",
      },
      {
        name: "a wrong length",
        text: encode("age", randomBytes(31)),
        message: "but it has 56 characters after age1",
      },
      {
        name: "a character outside bech32",
        text: valid.slice(0, 10) + "b" + valid.slice(11),
        message: "character 11 is not in the bech32 alphabet",
      },
      {
        name: "mixed case",
        text: valid.slice(0, 10) + valid.slice(10).toUpperCase(),
        message: "it mixes upper and lower case",
      },
      { name: "uppercase", text: valid.toUpperCase(), message: "in lowercase" },
      { name: "a low-order point", text: encode("age", Buffer.alloc(32)), message: "low-order point" },
      {
        name: "an SSH key",
        text: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG",
        message: "SSH keys are not supported",
      },
      { name: "empty", text: "", message: `^recipient "": ${form}` },
    ];
    for (const { name, text, message } of cases) {
      test(name, () => {
        assert.throws(
          () => parseRecipient(text),
          (error: unknown) => error instanceof InputError && new RegExp(message).test(error.message),
        );
      });
    }
  });

  test("a secret key given as a recipient is refused without echoing it", () => {
    const { identity } = generateIdentity();
    assert.throws(
      () => parseRecipient(identity),
      (error: unknown) =>
        error instanceof InputError &&
        /got a secret key/.test(error.message) &&
        !error.message.includes(identity.slice(16)),
    );
  });

  test("malformed identity lines are InputErrors naming the line, never its content", () => {
    const { identity, recipient } = generateIdentity();
    const typo = identity.slice(0, 20) + (identity[20] === "Q" ? "P" : "Q") + identity.slice(21);
    const cases = [
      {
        text: `# key\n${typo}\n`,
        message:
          /^identity file line 2: expected an age X25519 secret key \(AGE-SECRET-KEY-1 followed by 58 characters\), but its checksum does not match/,
      },
      { text: identity.slice(0, -3), message: /line 1: .* but it has 55 characters after AGE-SECRET-KEY-1$/ },
      { text: identity.toLowerCase(), message: /line 1: .* in uppercase$/ },
      { text: `\n\n${recipient}`, message: /line 3: .* but this is a public key/ },
      { text: "# only comments\n\n", message: /^identity file: no secret key found/ },
      { text: "age-encryption.org/v1\n-> scrypt", message: /itself age-encrypted/ },
    ];
    for (const { text, message } of cases) {
      assert.throws(
        () => parseIdentities(text),
        (error: unknown) =>
          error instanceof InputError &&
          message.test(error.message) &&
          !error.message.includes(identity.slice(16, 40)),
      );
    }
  });

  test("invalid encryption settings are InputErrors, before anything is written", () => {
    const { recipients } = newKeys(1);
    assert.throws(() => createEncryptStream([]), InputError);
    assert.throws(() => createDecryptStream([]), InputError);
    assert.throws(
      () => createEncryptStream([passphraseRecipient("a", 10), recipients[0]!]),
      /passphrase cannot be combined/,
    );
    assert.throws(
      () => createEncryptStream([passphraseRecipient("a", 10), passphraseRecipient("b", 10)]),
      InputError,
    );
    assert.throws(() => passphraseRecipient(""), InputError);
    assert.throws(() => passphraseIdentity(""), InputError);
    assert.throws(() => passphraseRecipient("a", 23), /expected an integer from 1 to 22/);
    assert.throws(() => passphraseRecipient("a", 0), InputError);
  });

  test("secrets stay out of util.inspect and JSON", async () => {
    const { inspect } = await import("node:util");
    const { identity } = generateIdentity();
    const parsed = parseIdentities(identity)[0]!;
    const passphrase = passphraseIdentity("hunter2-secret");
    for (const value of [parsed, passphrase, passphraseRecipient("hunter2-secret", 10)]) {
      const shown = inspect(value, { showHidden: true, depth: 5 }) + JSON.stringify(value);
      assert.ok(!shown.includes("hunter2"), shown);
      assert.ok(!shown.includes(identity.slice(16, 40)), shown);
    }
  });
});
