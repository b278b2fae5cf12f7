// Two columns of rows, the browser's events on the left and the wire on the
// right, each row holding at most one item per side. Placing an item costs
// the same at the first row and the ten-thousandth; past MAX_ROWS the oldest
// rows are dropped (and counted), so a long session stays fast.

/** Most rows kept; the oldest TRIM go at once when there are more. */
export const MAX_ROWS = 2000;
const TRIM = 500;

export class Timeline {
  constructor(grid, left, right, emptyEl) {
    Object.assign(this, { grid, left, right, emptyEl });
    // Whether the view follows the newest rows: kept up to date by scroll
    // events, where reading the layout is free, never by placing a row
    // (that would force a layout per row, and a long session is thousands).
    this.sticky = true;
    this.followQueued = false;
    grid.addEventListener('scroll', () => {
      this.sticky = grid.scrollHeight - grid.scrollTop - grid.clientHeight < 40;
    }, { passive: true });
    this.reset();
    // Hovering an item outlines its partner in the other column.
    grid.addEventListener('pointerover', (e) => {
      const item = e.target.closest?.('[data-slot]');
      const slot = item?.dataset.slot ?? null;
      for (const el of grid.querySelectorAll('.tl-pair')) if (el.dataset.slot !== slot) el.classList.remove('tl-pair');
      if (slot !== null) for (const el of grid.querySelectorAll(`[data-slot="${slot}"]`)) el.classList.add('tl-pair');
    });
    grid.addEventListener('pointerleave', () => grid.querySelectorAll('.tl-pair').forEach((el) => el.classList.remove('tl-pair')));
  }

  reset() {
    this.slots = [];
    this.byKey = new Map();
    this.trimmed = 0;
    this.nextId = 0;
    this.left.replaceChildren();
    this.right.replaceChildren();
    this.grid.style.setProperty('--rows', '1');
    this.emptyEl.hidden = false;
  }

  /** Puts `el` on `side` in the row of `key`: the first row of that key
   * with a free place on that side, else a new row after the key's last. */
  place(side, key, el) {
    const rows = this.byKey.get(key) ?? [];
    let slot = rows.find((s) => !s[side]);
    if (!slot) {
      slot = { key, left: null, right: null, id: this.nextId++, row: 0 };
      const after = rows.length ? rows[rows.length - 1] : null;
      if (after && after.row !== this.slots.length) {
        this.slots.splice(after.row, 0, slot);
        this.renumber(after.row);
      } else {
        this.slots.push(slot);
        slot.row = this.slots.length;
      }
      rows.push(slot);
      this.byKey.set(key, rows);
    }
    slot[side] = el;
    this.mark(slot, el);
    (side === 'left' ? this.left : this.right).append(el);
    if (this.slots.length > MAX_ROWS + TRIM) this.trim();
    this.grid.style.setProperty('--rows', String(Math.max(1, this.slots.length)));
    this.emptyEl.hidden = true;
  }

  replace(oldEl, newEl) {
    for (const s of [...this.byKeyOf(oldEl)]) {
      if (s.left === oldEl) s.left = newEl;
      if (s.right === oldEl) s.right = newEl;
      this.mark(s, newEl);
    }
    oldEl.replaceWith(newEl);
  }

  /** Keeps the newest rows in view, if the view was following them: once
   * per frame, however many rows came. */
  follow() {
    if (!this.sticky || this.followQueued) return;
    this.followQueued = true;
    requestAnimationFrame(() => {
      this.followQueued = false;
      this.grid.scrollTop = this.grid.scrollHeight;
    });
  }

  byKeyOf(el) {
    const slot = this.slots[Number(el.style.getPropertyValue('--row')) - 1];
    return slot ? [slot] : [];
  }

  mark(slot, el) {
    el.style.setProperty('--row', String(slot.row));
    el.dataset.slot = String(slot.id);
  }

  renumber(from) {
    for (let i = from; i < this.slots.length; i++) {
      const s = this.slots[i];
      s.row = i + 1;
      for (const el of [s.left, s.right]) if (el) el.style.setProperty('--row', String(s.row));
    }
  }

  /** Drops the oldest TRIM rows. */
  trim() {
    const gone = this.slots.splice(0, TRIM);
    for (const s of gone) {
      s.left?.remove();
      s.right?.remove();
      const rows = this.byKey.get(s.key);
      if (rows) {
        const rest = rows.filter((r) => r !== s);
        if (rest.length) this.byKey.set(s.key, rest);
        else this.byKey.delete(s.key);
      }
    }
    this.trimmed += gone.length;
    this.renumber(0);
  }
}
