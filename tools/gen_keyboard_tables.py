#!/usr/bin/env python3
"""Generate src/gateway/hid/tables.rs from the HID keyboard usage table (usage page 0x07).

Usage: python3 tools/gen_keyboard_tables.py PATH/TO/hid-keyboard-usages.tsv > src/gateway/hid/tables.rs

The TSV columns are usage_id, hut_name, us_unshifted, us_shift, ctrl; the character columns use
backslash escapes (\\r, \\t, \\xNN, \\\\, \\x22). Only single ASCII characters become table
entries; everything else is left to the hand-written decoder (terminators, lock keys, F8).
"""
import sys


def unescape(cell):
    if cell == "":
        return None
    value = cell.encode("ascii").decode("unicode_escape")
    if len(value) != 1 or ord(value) > 0x7F:
        raise SystemExit(f"unexpected character cell {cell!r}")
    return ord(value)


def rust_byte(code):
    if code is None:
        return "Key::None"
    if 0x20 <= code < 0x7F and chr(code) not in "'\\":
        return f"Key::Char(b'{chr(code)}')"
    return f"Key::Char(0x{code:02X})"


def main(path):
    rows = []
    with open(path, encoding="utf-8") as tsv:
        for line in tsv:
            line = line.rstrip("\n")
            if line.startswith("#") or line.startswith("usage_id") or not line:
                continue
            usage, name, plain, shift, ctrl = (line.split("\t") + [""] * 5)[:5]
            rows.append((int(usage, 16), name, unescape(plain), unescape(shift), unescape(ctrl)))

    out = []
    out.append("//! Generated from the project's HID keyboard usage table (usage page 0x07, US ANSI")
    out.append("//! columns) by `tools/gen_keyboard_tables.py`; do not edit by hand. It holds the US")
    out.append("//! layout's characters, the conventional Ctrl codes and every usage's name; it must")
    out.append("//! not hold decoding logic (that is `keyboard.rs`) or other layouts (`layouts.rs`).")
    out.append("")
    out.append("use super::layouts::{Key, KeyRow};")
    out.append("")
    out.append("/// The US layout: every usage with a character on it, sorted by usage. Keypad keys assume")
    out.append("/// Num Lock on; Enter and Tab are here as characters but the decoder treats them as")
    out.append("/// terminators first.")
    out.append("pub const US_KEYS: &[KeyRow] = &[")
    for usage, name, plain, shift, _ctrl in rows:
        if plain is None and shift is None:
            continue
        out.append(
            f"    KeyRow::new(0x{usage:02X}, {rust_byte(plain)}, {rust_byte(shift)}, Key::None), // {name}"
        )
    out.append("];")
    out.append("")
    out.append("/// Ctrl + key gives these ASCII control codes (US key positions), sorted by usage.")
    out.append("pub const US_CTRL_CODES: &[(u8, u8)] = &[")
    for usage, name, _plain, _shift, ctrl in rows:
        if ctrl is None:
            continue
        out.append(f"    (0x{usage:02X}, 0x{ctrl:02X}), // {name}")
    out.append("];")
    out.append("")
    out.append("/// The name of every usage on page 0x07 the table lists, sorted by usage.")
    out.append("pub const USAGE_NAMES: &[(u8, &str)] = &[")
    for usage, name, *_ in rows:
        escaped = name.replace("\\", "\\\\").replace('"', '\\"')
        out.append(f'    (0x{usage:02X}, "{escaped}"),')
    out.append("];")
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1])
