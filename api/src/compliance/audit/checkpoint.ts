import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from "node:fs";
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
export const CHECKPOINTS_FILE = "checkpoints.jsonl";

/** A signing key as configured, before anything of it is written (saveSigningKey). */
export type ResolvedSigningKey = SigningKey & {
  /** Where it came from, named in a refusal. */
  source: string;
  /** Generated by this start: no key was configured or stored. */
  created: boolean;
};

/** `pem` read as a signing key; refused in words that name `from` (never the key itself). */
function fromPem(pem: string | Buffer, from: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (cause) {
    throw new AuditError(AuditCode.KEY_MISMATCH, `${from}: not a readable PEM private key (${(cause as Error).message})`, { cause });
  }
  if (privateKey.asymmetricKeyType !== "ed25519") throw new AuditError(AuditCode.KEY_MISMATCH, `${from}: the audit signing key must be Ed25519, got ${privateKey.asymmetricKeyType}`);
  return fromPrivateKey(privateKey);
}

function fromPrivateKey(privateKey: KeyObject): SigningKey {
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString() };
}

/**
 * SEN_AUDIT_SIGNING_KEY checked on its own, for a start that checks every setting before it
 * touches the disk but opens its audit log only later, in a directory that is not there yet
 * (scripts/start.ts); resolveSigningKey checks it against the log's checkpoints.
 */
export function signingKeyFromPem(pem: string): SigningKey {
  return fromPem(pem, "SEN_AUDIT_SIGNING_KEY");
}

/** A line of checkpoints.jsonl: its checkpoint, or null for an anchor record. */
function checkpointLine(text: string, offset: number): Checkpoint | null {
  let o: Partial<Checkpoint> & { anchorFor?: unknown };
  try {
    o = JSON.parse(text) as typeof o;
  } catch (cause) {
    throw new AuditError(AuditCode.TAMPERED, `audit log: ${CHECKPOINTS_FILE} byte ${offset} is not JSON`, { cause });
  }
  if (typeof o?.anchorFor === "number") return null;
  if (typeof o?.treeSize !== "number" || typeof o.root !== "string" || typeof o.signature !== "string" || typeof o.origin !== "string" || typeof o.time !== "string" || typeof o.keyId !== "string") {
    throw new AuditError(AuditCode.TAMPERED, `audit log: ${CHECKPOINTS_FILE} byte ${offset} is neither a checkpoint nor an anchor record`);
  }
  const { origin, treeSize, root, time, keyId, signature } = o as Checkpoint;
  return { origin, treeSize, root, time, keyId, signature };
}

/**
 * The latest signed checkpoint in `<dir>/checkpoints.jsonl` (undefined: none), the one the
 * log checks its key against at open (checkpointer.ts): a torn last line is not one, anchor
 * records are skipped. Read back from the end: the file grows by a line per checkpoint for
 * as long as the log is kept, and nothing is written.
 */
export function latestCheckpoint(dir: string): Checkpoint | undefined {
  let fd: number;
  try {
    fd = openSync(join(dir, CHECKPOINTS_FILE), "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    let pos = fstatSync(fd).size;
    // The bytes [pos, pos + buf.length) of the file; `end` is the index in buf of the newline
    // ending the next line to look at (null until one is read: bytes after the last are torn).
    let buf = Buffer.alloc(0);
    let end: number | null = null;
    for (;;) {
      if (end === null) {
        const nl = buf.lastIndexOf(0x0a);
        if (nl >= 0) end = nl;
      }
      while (end !== null) {
        // lastIndexOf takes a negative start as counted from the end: never pass one.
        const start = end === 0 ? 0 : buf.lastIndexOf(0x0a, end - 1) + 1;
        if (start === 0 && pos > 0) break; // the line may begin before what is read
        const cp = checkpointLine(buf.subarray(start, end).toString("utf8"), pos + start);
        if (cp) return cp;
        if (start === 0) return undefined;
        end = start - 1;
      }
      if (pos === 0) return undefined;
      const n = Math.min(1 << 16, pos);
      pos -= n;
      const chunk = Buffer.alloc(n);
      for (let got = 0; got < n; ) got += readSync(fd, chunk, got, n - got, pos + got);
      buf = Buffer.concat([chunk, buf]);
      if (end !== null) end += n;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The checkpoint signing key, from `pem` (config's SEN_AUDIT_SIGNING_KEY: config is the only
 * reader of the environment) when given, else `<dir>/checkpoint-key.pem`, else a new one,
 * checked against the log's latest signed checkpoint. Reads only: a start refused for its
 * key (a wrong SEN_AUDIT_SIGNING_KEY, a lost key file) must leave the data directory as it
 * was, so nothing is written before the key is known to be the log's (saveSigningKey).
 */
export function resolveSigningKey(dir: string, pem?: string): ResolvedSigningKey {
  const keyPath = join(dir, CHECKPOINT_KEY_FILE);
  let key: SigningKey;
  let source: string;
  let created = false;
  if (pem !== undefined && pem.trim() !== "") {
    key = signingKeyFromPem(pem);
    source = "SEN_AUDIT_SIGNING_KEY";
  } else if (existsSync(keyPath)) {
    key = fromPem(readFileSync(keyPath), keyPath);
    source = keyPath;
  } else {
    key = fromPrivateKey(generateKeyPairSync("ed25519").privateKey);
    source = `a new key (there is no ${keyPath} and no SEN_AUDIT_SIGNING_KEY)`;
    created = true;
  }
  const last = latestCheckpoint(dir);
  if (last && !verifyCheckpoint(last, key.publicKey)) {
    throw new AuditError(
      AuditCode.KEY_MISMATCH,
      `audit log ${dir}: the latest checkpoint (tree size ${last.treeSize}, key id ${last.keyId}) does not verify with the signing key from ${source} (key id ${keyId(key.publicKey, last.origin)}): configure the key that signed it; nothing was changed`,
      { details: { treeSize: last.treeSize, keyId: last.keyId } },
    );
  }
  return { ...key, source, created };
}

/**
 * Writes what resolveSigningKey found: a new key to `<dir>/checkpoint-key.pem` (0600), and its
 * public key to `<dir>/checkpoint.pub` so an export or an auditor can pick it up without the
 * private one.
 */
export function saveSigningKey(dir: string, key: ResolvedSigningKey): void {
  mkdirSync(dir, { recursive: true });
  if (key.created) {
    // "wx": never overwrite a key another process wrote in the meantime; losing the key
    // that signed earlier checkpoints would leave them verifiable only by the old .pub.
    writeFileSync(join(dir, CHECKPOINT_KEY_FILE), key.privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600, flag: "wx", flush: true });
  }
  const pubPath = join(dir, CHECKPOINT_PUB_FILE);
  const previous = existsSync(pubPath) ? readFileSync(pubPath, "utf8") : undefined;
  if (previous !== key.publicKeyPem) {
    // A different key that the log's checkpoints accept (none signed yet, or a .pub out of
    // date): keep the old public key, which may be what an auditor holds.
    if (previous !== undefined) writeFileSync(join(dir, `${CHECKPOINT_PUB_FILE}.replaced-${Date.now()}`), previous, { mode: 0o644, flush: true });
    writeFileSync(pubPath, key.publicKeyPem, { mode: 0o644, flush: true });
  }
}

/** resolveSigningKey, then saveSigningKey: for a caller with nothing else to check first. */
export function loadOrCreateSigningKey(dir: string, pem?: string): SigningKey {
  const key = resolveSigningKey(dir, pem);
  saveSigningKey(dir, key);
  return key;
}
