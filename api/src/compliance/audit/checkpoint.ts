import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AuditCode, AuditError } from "./errors.ts";
import { fromHex } from "./merkle.ts";

/**
 * Signed checkpoints of the audit log, in the C2SP tlog-checkpoint form so that generic
 * transparency-log tooling (witnesses, `note` verifiers) can read them:
 *
 *     <origin>\n<tree size>\n<base64 root>\ntime <ISO µs>\n
 *
 * is the note body, signed with Ed25519; the signed note appends a blank line and
 * "— <origin> <base64(key hash (4 bytes) || signature)>". The key hash is C2SP's:
 * SHA-256(key name || "\n" || 0x01 || 32-byte public key)[:4], with the origin as key name.
 */
export type Checkpoint = {
  origin: string;
  treeSize: number;
  /** 0x-prefixed hex of the 32-byte Merkle root. */
  root: string;
  /** isoMicros of the signing time. */
  time: string;
  /** Hex of the 4-byte C2SP key hash. */
  keyId: string;
  /** Base64 of the 64-byte Ed25519 signature over the body. */
  signature: string;
};

/** Where a checkpoint's root was put on chain (AuditAnchor.anchor). */
export type CheckpointAnchor = { chainId: number; contract: string; txHash: string; blockNumber: number };
export type AnchoredCheckpoint = Checkpoint & { anchor?: CheckpointAnchor };

export type CheckpointInput = { origin: string; treeSize: number; root: string; time: string };

export type SigningKey = { privateKey: KeyObject; publicKey: KeyObject; publicKeyPem: string };

const ED25519_RAW = 32;
const SIGNATURE_DASH = "\u2014";

/** The C2SP checkpoint body that is signed. */
export function checkpointBody(c: CheckpointInput): string {
  if (/[\n]/.test(c.origin) || c.origin.length === 0) throw new AuditError(AuditCode.BAD_RANGE, "a checkpoint origin is one non-empty line");
  if (!Number.isSafeInteger(c.treeSize) || c.treeSize < 0) throw new AuditError(AuditCode.BAD_RANGE, `bad checkpoint tree size ${c.treeSize}`);
  return `${c.origin}\n${c.treeSize}\n${fromHex(c.root).toString("base64")}\ntime ${c.time}\n`;
}

function rawPublicKey(publicKey: KeyObject): Buffer {
  if (publicKey.asymmetricKeyType !== "ed25519") throw new AuditError(AuditCode.KEY_MISMATCH, `checkpoint keys are Ed25519, got ${publicKey.asymmetricKeyType ?? "a symmetric key"}`);
  const jwk = publicKey.export({ format: "jwk" });
  const raw = Buffer.from(jwk.x ?? "", "base64url");
  if (raw.length !== ED25519_RAW) throw new AuditError(AuditCode.KEY_MISMATCH, "malformed Ed25519 public key");
  return raw;
}

function keyHash(publicKey: KeyObject, origin: string): Buffer {
  return createHash("sha256")
    .update(`${origin}\n`)
    .update(Buffer.from([0x01]))
    .update(rawPublicKey(publicKey))
    .digest()
    .subarray(0, 4);
}

/** C2SP key id (hex of the 4-byte key hash) of `publicKey` under the key name `origin`. */
export function keyId(publicKey: KeyObject, origin: string): string {
  return keyHash(publicKey, origin).toString("hex");
}

export function signCheckpoint(c: CheckpointInput, privateKey: KeyObject): Checkpoint {
  const body = checkpointBody(c);
  const publicKey = createPublicKey(privateKey);
  return {
    origin: c.origin,
    treeSize: c.treeSize,
    root: `0x${fromHex(c.root).toString("hex")}`,
    time: c.time,
    keyId: keyId(publicKey, c.origin),
    signature: sign(null, Buffer.from(body), privateKey).toString("base64"),
  };
}

/** True when `cp` is signed by `publicKey` and names that key; never throws on bad input. */
export function verifyCheckpoint(cp: Checkpoint, publicKey: KeyObject): boolean {
  try {
    if (cp.keyId !== keyId(publicKey, cp.origin)) return false;
    const signature = Buffer.from(cp.signature, "base64");
    if (signature.length !== 64) return false;
    return verify(null, Buffer.from(checkpointBody(cp)), publicKey, signature);
  } catch {
    // Malformed fields (root not hex, bad origin) mean "not a valid checkpoint", which is the answer.
    return false;
  }
}

/** The full C2SP signed note: body, blank line, signature line. */
export function checkpointNote(cp: Checkpoint): string {
  const sig = Buffer.concat([Buffer.from(cp.keyId, "hex"), Buffer.from(cp.signature, "base64")]).toString("base64");
  return `${checkpointBody(cp)}\n${SIGNATURE_DASH} ${cp.origin} ${sig}\n`;
}

/** Parses a signed note back into a Checkpoint (the first signature line for the origin). */
export function parseCheckpointNote(note: string): Checkpoint {
  const bad = (why: string): never => {
    throw new AuditError(AuditCode.TAMPERED, `not a checkpoint note: ${why}`);
  };
  const split = note.indexOf("\n\n");
  if (split < 0) bad("no blank line before the signatures");
  const lines = note.slice(0, split).split("\n");
  if (lines.length < 4) bad("the body needs origin, size, root and time lines");
  const [origin, size, rootB64, timeLine] = lines;
  if (!/^\d+$/.test(size)) bad("tree size is not a decimal number");
  const root = Buffer.from(rootB64, "base64");
  if (root.length !== 32) bad("root is not 32 bytes of base64");
  if (!timeLine.startsWith("time ")) bad("no time extension line");
  const prefix = `${SIGNATURE_DASH} ${origin} `;
  const sigLine = note
    .slice(split + 2)
    .split("\n")
    .find((l) => l.startsWith(prefix));
  if (!sigLine) bad(`no signature line for ${origin}`);
  const sig = Buffer.from(sigLine!.slice(prefix.length), "base64");
  if (sig.length !== 4 + 64) bad("signature is not key hash + Ed25519 signature");
  return {
    origin,
    treeSize: Number(size),
    root: `0x${root.toString("hex")}`,
    time: timeLine.slice("time ".length),
    keyId: sig.subarray(0, 4).toString("hex"),
    signature: sig.subarray(4).toString("base64"),
  };
}

export const CHECKPOINT_KEY_FILE = "checkpoint-key.pem";
export const CHECKPOINT_PUB_FILE = "checkpoint.pub";

function fromPrivateKey(privateKey: KeyObject): SigningKey {
  if (privateKey.asymmetricKeyType !== "ed25519") throw new AuditError(AuditCode.KEY_MISMATCH, `the audit signing key must be Ed25519, got ${privateKey.asymmetricKeyType}`);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString() };
}

/**
 * The checkpoint signing key. `pem` (config's SEN_AUDIT_SIGNING_KEY: config is the only
 * reader of the environment) wins when given; otherwise `<dir>/checkpoint-key.pem` (0600)
 * is loaded, or created on first start. `<dir>/checkpoint.pub` always holds the public key
 * so an export or an auditor can pick it up without the private one.
 */
export function loadOrCreateSigningKey(dir: string, pem?: string): SigningKey {
  mkdirSync(dir, { recursive: true });
  const keyPath = join(dir, CHECKPOINT_KEY_FILE);
  let key: SigningKey;
  if (pem !== undefined && pem.trim() !== "") {
    key = fromPrivateKey(createPrivateKey(pem));
  } else if (existsSync(keyPath)) {
    key = fromPrivateKey(createPrivateKey(readFileSync(keyPath)));
  } else {
    const { privateKey } = generateKeyPairSync("ed25519");
    // "wx": never overwrite a key another process wrote in the meantime; losing the key
    // that signed earlier checkpoints would leave them verifiable only by the old .pub.
    writeFileSync(keyPath, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600, flag: "wx", flush: true });
    key = fromPrivateKey(privateKey);
  }
  const pubPath = join(dir, CHECKPOINT_PUB_FILE);
  const previous = existsSync(pubPath) ? readFileSync(pubPath, "utf8") : undefined;
  if (previous !== key.publicKeyPem) {
    // A different key (rotation, or a wrong SEN_AUDIT_SIGNING_KEY): keep the old public key,
    // which is what verifies the checkpoints signed so far.
    if (previous !== undefined) writeFileSync(join(dir, `${CHECKPOINT_PUB_FILE}.replaced-${Date.now()}`), previous, { mode: 0o644, flush: true });
    writeFileSync(pubPath, key.publicKeyPem, { mode: 0o644, flush: true });
  }
  return key;
}
