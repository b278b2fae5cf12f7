// The server's text notes on the /tap and /inject streams, read in one
// place. Their fields are documented with the server's `Note` type
// (native-server/src/notes.rs: `TapNote`, `InjectNote`); the binary records beside them are decoded
// by the wasm core (WireView.push_record).

/** A note as the server sent it, or null if the text is not one. */
export function readNote(text) {
  let note;
  try {
    note = JSON.parse(text);
  } catch {
    return null;
  }
  return note && typeof note === 'object' && typeof note.type === 'string' ? note : null;
}

const count = (n) => (Number.isFinite(Number(n)) ? Number(n).toLocaleString('en-US') : '?');
const plural = (n, one, many = `${one}s`) => `${count(n)} ${Number(n) === 1 ? one : many}`;

/** What a tap note means, in the page's words (null: nothing to show). */
export function tapNoteText(note) {
  switch (note.type) {
    case 'dropped':
      // `chunks`: what this page will never be sent; `record_dropped_*`: all
      // the record has dropped so far, bytes counting data only.
      return `Missed here: the tap dropped ${plural(note.chunks, 'chunk')} to stay within its limit `
        + `(${plural(note.record_dropped_chunks, 'chunk')}, ${plural(note.record_dropped_bytes, 'byte')} dropped from this connection's record so far); `
        + 'decoding may be off from here.';
    case 'evicted':
      return 'The tap record was dropped to make room for newer connections.';
    case 'end':
      return `Tap: the connection is over${note.reason ? ` (${note.reason})` : ''}.`;
    default:
      return null;
  }
}
