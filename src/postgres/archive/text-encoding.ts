/**
 * Text in a pg_dump archive (TOC names, statements) and in pg_restore's listing of it is in the
 * dumped database's encoding, which pg_dump takes as its client encoding and records in the
 * archive's ENCODING entry. A LATIN1 database's table "café" is the bytes 63 61 66 e9 there: read
 * as UTF-8 it would become "caf\uFFFD", a name no catalog holds.
 */

/** PostgreSQL server encodings (pg_wchar.h names) as WHATWG labels TextDecoder knows. */
const LABELS: Record<string, string> = {
  UTF8: "utf-8",
  EUC_JP: "euc-jp",
  // GB 2312 in EUC form is a subset of GBK, byte for byte.
  EUC_CN: "gbk",
  EUC_KR: "euc-kr",
  LATIN2: "iso-8859-2",
  LATIN3: "iso-8859-3",
  LATIN4: "iso-8859-4",
  LATIN6: "iso-8859-10",
  LATIN7: "iso-8859-13",
  LATIN8: "iso-8859-14",
  LATIN9: "iso-8859-15",
  LATIN10: "iso-8859-16",
  ISO_8859_5: "iso-8859-5",
  ISO_8859_6: "iso-8859-6",
  ISO_8859_7: "iso-8859-7",
  ISO_8859_8: "iso-8859-8",
  WIN866: "ibm866",
  WIN874: "windows-874",
  WIN1250: "windows-1250",
  WIN1251: "windows-1251",
  WIN1252: "windows-1252",
  WIN1253: "windows-1253",
  WIN1254: "windows-1254",
  WIN1255: "windows-1255",
  WIN1256: "windows-1256",
  WIN1257: "windows-1257",
  WIN1258: "windows-1258",
  KOI8R: "koi8-r",
  KOI8U: "koi8-u",
};

export type TextDecoderFn = (bytes: Uint8Array) => string;

export const decodeUtf8: TextDecoderFn = (bytes) => Buffer.from(bytes).toString("utf8");

/**
 * The decoder for a PostgreSQL encoding name ("LATIN1", "win1252": pg_dump writes it as the
 * server spells it). SQL_ASCII has no encoding at all (its bytes are whatever the application
 * stored, most often UTF-8), and the few encodings no decoder here knows (EUC_TW, EUC_JIS_2004,
 * MULE_INTERNAL) are read as UTF-8, as before: their ASCII names still read right.
 */
export function decoderFor(encoding: string | null | undefined): TextDecoderFn {
  const name = (encoding ?? "").toUpperCase().replace(/^ISO-?8859-?1$/, "LATIN1");
  // WHATWG maps "iso-8859-1" to windows-1252, which reads 0x80-0x9f as other characters: LATIN1
  // is one byte to one code point.
  if (name === "LATIN1") return (bytes) => Buffer.from(bytes).toString("latin1");
  // LATIN5 (ISO 8859-9) is windows-1254 from 0xa0 up, C1 controls below.
  if (name === "LATIN5") return c1Controls(new TextDecoder("windows-1254"));
  const label = LABELS[name];
  if (!label || label === "utf-8") return decodeUtf8;
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(label);
  } catch {
    // A Node built without full ICU knows only the Unicode encodings.
    return decodeUtf8;
  }
  return (bytes) => decoder.decode(bytes);
}

function c1Controls(decoder: TextDecoder): TextDecoderFn {
  return (bytes) => {
    if (!bytes.some((byte) => byte >= 0x80 && byte < 0xa0)) return decoder.decode(bytes);
    let text = "";
    for (const byte of bytes) {
      text += byte >= 0x80 && byte < 0xa0 ? String.fromCharCode(byte) : decoder.decode(Uint8Array.of(byte));
    }
    return text;
  };
}

/** The encoding named by an ENCODING entry's statement, `SET client_encoding = 'LATIN1';`. */
export function encodingOfStatement(statement: string): string | undefined {
  return /client_encoding\s*=\s*'([^']+)'/i.exec(statement)?.[1];
}
