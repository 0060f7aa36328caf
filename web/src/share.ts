// The share link: the page's whole state, deflated and base64url-encoded,
// in the URL fragment (`#share=...`). A fragment never reaches the server,
// so nothing is stored anywhere but in the link itself.

/** What a share link holds. */
export interface Shared {
  policy: string;
  snapshot: string;
  format: "json" | "toml";
  role: string;
  action: string;
  /** RFC 3339, or "" for the snapshot's own `now`. */
  now: string;
  /** A served policy's name, or "" for no comparison. */
  compare: string;
}

const PREFIX = "#share=";
/** Bumped if the encoded shape ever changes; older links still say theirs. */
const VERSION = 1;

function toBase64url(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

async function pipe(bytes: Uint8Array, through: GenericTransformStream): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(through as TransformStream<Uint8Array, Uint8Array>);
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The fragment (with its `#`) that restores `state`. */
export async function encode(state: Shared): Promise<string> {
  const json = JSON.stringify({ v: VERSION, ...state });
  const packed = await pipe(new TextEncoder().encode(json), new CompressionStream("deflate-raw"));
  return PREFIX + toBase64url(packed);
}

/** Whether a fragment is a share link at all. */
export function isShared(hash: string): boolean {
  return hash.startsWith(PREFIX);
}

/** The state in a share fragment; throws with a reason when it is not one. */
export async function decode(hash: string): Promise<Shared> {
  if (!isShared(hash)) throw new Error("not a share link");
  const bytes = await pipe(fromBase64url(hash.slice(PREFIX.length)), new DecompressionStream("deflate-raw"));
  const raw = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  if (raw.v !== VERSION) throw new Error(`version ${String(raw.v)} is not one this page reads`);
  const text = (k: string): string => {
    const v = raw[k];
    if (v === undefined || v === null) return "";
    if (typeof v !== "string") throw new Error(`\`${k}\` is not text`);
    return v;
  };
  const format = text("format");
  return {
    policy: text("policy"),
    snapshot: text("snapshot"),
    format: format === "toml" ? "toml" : "json",
    role: text("role"),
    action: text("action"),
    now: text("now"),
    compare: text("compare"),
  };
}
