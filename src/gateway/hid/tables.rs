//! Generated from the project's HID keyboard usage table (usage page 0x07, US ANSI
//! columns) by `tools/gen_keyboard_tables.py`; do not edit by hand. It holds the US
//! layout's characters, the conventional Ctrl codes and every usage's name; it must
//! not hold decoding logic (that is `keyboard.rs`) or other layouts (`layouts.rs`).

use super::layouts::{Key, KeyRow};

/// The US layout: every usage with a character on it, sorted by usage. Keypad keys assume
/// Num Lock on; Enter and Tab are here as characters but the decoder treats them as
/// terminators first.
pub const US_KEYS: &[KeyRow] = &[
    KeyRow::new(0x04, Key::Char(b'a'), Key::Char(b'A'), Key::None), // Keyboard A
    KeyRow::new(0x05, Key::Char(b'b'), Key::Char(b'B'), Key::None), // Keyboard B
    KeyRow::new(0x06, Key::Char(b'c'), Key::Char(b'C'), Key::None), // Keyboard C
    KeyRow::new(0x07, Key::Char(b'd'), Key::Char(b'D'), Key::None), // Keyboard D
    KeyRow::new(0x08, Key::Char(b'e'), Key::Char(b'E'), Key::None), // Keyboard E
    KeyRow::new(0x09, Key::Char(b'f'), Key::Char(b'F'), Key::None), // Keyboard F
    KeyRow::new(0x0A, Key::Char(b'g'), Key::Char(b'G'), Key::None), // Keyboard G
    KeyRow::new(0x0B, Key::Char(b'h'), Key::Char(b'H'), Key::None), // Keyboard H
    KeyRow::new(0x0C, Key::Char(b'i'), Key::Char(b'I'), Key::None), // Keyboard I
    KeyRow::new(0x0D, Key::Char(b'j'), Key::Char(b'J'), Key::None), // Keyboard J
    KeyRow::new(0x0E, Key::Char(b'k'), Key::Char(b'K'), Key::None), // Keyboard K
    KeyRow::new(0x0F, Key::Char(b'l'), Key::Char(b'L'), Key::None), // Keyboard L
    KeyRow::new(0x10, Key::Char(b'm'), Key::Char(b'M'), Key::None), // Keyboard M
    KeyRow::new(0x11, Key::Char(b'n'), Key::Char(b'N'), Key::None), // Keyboard N
    KeyRow::new(0x12, Key::Char(b'o'), Key::Char(b'O'), Key::None), // Keyboard O
    KeyRow::new(0x13, Key::Char(b'p'), Key::Char(b'P'), Key::None), // Keyboard P
    KeyRow::new(0x14, Key::Char(b'q'), Key::Char(b'Q'), Key::None), // Keyboard Q
    KeyRow::new(0x15, Key::Char(b'r'), Key::Char(b'R'), Key::None), // Keyboard R
    KeyRow::new(0x16, Key::Char(b's'), Key::Char(b'S'), Key::None), // Keyboard S
    KeyRow::new(0x17, Key::Char(b't'), Key::Char(b'T'), Key::None), // Keyboard T
    KeyRow::new(0x18, Key::Char(b'u'), Key::Char(b'U'), Key::None), // Keyboard U
    KeyRow::new(0x19, Key::Char(b'v'), Key::Char(b'V'), Key::None), // Keyboard V
    KeyRow::new(0x1A, Key::Char(b'w'), Key::Char(b'W'), Key::None), // Keyboard W
    KeyRow::new(0x1B, Key::Char(b'x'), Key::Char(b'X'), Key::None), // Keyboard X
    KeyRow::new(0x1C, Key::Char(b'y'), Key::Char(b'Y'), Key::None), // Keyboard Y
    KeyRow::new(0x1D, Key::Char(b'z'), Key::Char(b'Z'), Key::None), // Keyboard Z
    KeyRow::new(0x1E, Key::Char(b'1'), Key::Char(b'!'), Key::None), // Keyboard 1 ! (Bang)
    KeyRow::new(0x1F, Key::Char(b'2'), Key::Char(b'@'), Key::None), // Keyboard 2 @ (At)
    KeyRow::new(0x20, Key::Char(b'3'), Key::Char(b'#'), Key::None), // Keyboard 3 # (Hash)
    KeyRow::new(0x21, Key::Char(b'4'), Key::Char(b'$'), Key::None), // Keyboard 4 $ (Dollar)
    KeyRow::new(0x22, Key::Char(b'5'), Key::Char(b'%'), Key::None), // Keyboard 5 % (Percent)
    KeyRow::new(0x23, Key::Char(b'6'), Key::Char(b'^'), Key::None), // Keyboard 6 ^ (Caret)
    KeyRow::new(0x24, Key::Char(b'7'), Key::Char(b'&'), Key::None), // Keyboard 7 & (Ampersand)
    KeyRow::new(0x25, Key::Char(b'8'), Key::Char(b'*'), Key::None), // Keyboard 8 * (Star)
    KeyRow::new(0x26, Key::Char(b'9'), Key::Char(b'('), Key::None), // Keyboard 9 ( (Left Bracket)
    KeyRow::new(0x27, Key::Char(b'0'), Key::Char(b')'), Key::None), // Keyboard 0 ) (Right Bracket)
    KeyRow::new(0x28, Key::Char(0x0D), Key::Char(0x0D), Key::None), // Keyboard Enter
    KeyRow::new(0x29, Key::Char(0x1B), Key::Char(0x1B), Key::None), // Keyboard Escape
    KeyRow::new(0x2A, Key::Char(0x08), Key::Char(0x08), Key::None), // Keyboard Backspace
    KeyRow::new(0x2B, Key::Char(0x09), Key::Char(0x09), Key::None), // Keyboard Tab
    KeyRow::new(0x2C, Key::Char(b' '), Key::Char(b' '), Key::None), // Keyboard Space
    KeyRow::new(0x2D, Key::Char(b'-'), Key::Char(b'_'), Key::None), // Keyboard - _ (Dash Underscore)
    KeyRow::new(0x2E, Key::Char(b'='), Key::Char(b'+'), Key::None), // Keyboard = + (Equals Plus)
    KeyRow::new(0x2F, Key::Char(b'['), Key::Char(b'{'), Key::None), // Keyboard [ { (Left Brace)
    KeyRow::new(0x30, Key::Char(b']'), Key::Char(b'}'), Key::None), // Keyboard ] } (Right Brace)
    KeyRow::new(0x31, Key::Char(0x5C), Key::Char(b'|'), Key::None), // Keyboard \ | (Backslash Pipe)
    KeyRow::new(0x33, Key::Char(b';'), Key::Char(b':'), Key::None), // Keyboard ; : (Semicolon Colon)
    KeyRow::new(0x34, Key::Char(0x27), Key::Char(b'"'), Key::None), // Keyboard ' " (Left Apos Double)
    KeyRow::new(0x35, Key::Char(b'`'), Key::Char(b'~'), Key::None), // Keyboard ` ´ (Grave Accent Tilde)
    KeyRow::new(0x36, Key::Char(b','), Key::Char(b'<'), Key::None), // Keyboard , < (Comma Less)
    KeyRow::new(0x37, Key::Char(b'.'), Key::Char(b'>'), Key::None), // Keyboard . > (Period Greater)
    KeyRow::new(0x38, Key::Char(b'/'), Key::Char(b'?'), Key::None), // Keyboard / ? (ForwardSlash QuestionMark)
    KeyRow::new(0x54, Key::Char(b'/'), Key::Char(b'/'), Key::None), // Keypad / (ForwardSlash)
    KeyRow::new(0x55, Key::Char(b'*'), Key::Char(b'*'), Key::None), // Keypad * (Star)
    KeyRow::new(0x56, Key::Char(b'-'), Key::Char(b'-'), Key::None), // Keypad - (Dash)
    KeyRow::new(0x57, Key::Char(b'+'), Key::Char(b'+'), Key::None), // Keypad + (Plus)
    KeyRow::new(0x58, Key::Char(0x0D), Key::Char(0x0D), Key::None), // Keypad Enter
    KeyRow::new(0x59, Key::Char(b'1'), Key::Char(b'1'), Key::None), // Keypad 1 End
    KeyRow::new(0x5A, Key::Char(b'2'), Key::Char(b'2'), Key::None), // Keypad 2 Down Arrow
    KeyRow::new(0x5B, Key::Char(b'3'), Key::Char(b'3'), Key::None), // Keypad 3 PageDn
    KeyRow::new(0x5C, Key::Char(b'4'), Key::Char(b'4'), Key::None), // Keypad 4 Left Arrow
    KeyRow::new(0x5D, Key::Char(b'5'), Key::Char(b'5'), Key::None), // Keypad 5
    KeyRow::new(0x5E, Key::Char(b'6'), Key::Char(b'6'), Key::None), // Keypad 6 Right Arrow
    KeyRow::new(0x5F, Key::Char(b'7'), Key::Char(b'7'), Key::None), // Keypad 7 Home
    KeyRow::new(0x60, Key::Char(b'8'), Key::Char(b'8'), Key::None), // Keypad 8 Up Arrow
    KeyRow::new(0x61, Key::Char(b'9'), Key::Char(b'9'), Key::None), // Keypad 9 PageUp
    KeyRow::new(0x62, Key::Char(b'0'), Key::Char(b'0'), Key::None), // Keypad 0 Insert
    KeyRow::new(0x63, Key::Char(b'.'), Key::Char(b'.'), Key::None), // Keypad . Delete
];

/// Ctrl + key gives these ASCII control codes (US key positions), sorted by usage.
pub const US_CTRL_CODES: &[(u8, u8)] = &[
    (0x04, 0x01), // Keyboard A
    (0x05, 0x02), // Keyboard B
    (0x06, 0x03), // Keyboard C
    (0x07, 0x04), // Keyboard D
    (0x08, 0x05), // Keyboard E
    (0x09, 0x06), // Keyboard F
    (0x0A, 0x07), // Keyboard G
    (0x0B, 0x08), // Keyboard H
    (0x0C, 0x09), // Keyboard I
    (0x0D, 0x0A), // Keyboard J
    (0x0E, 0x0B), // Keyboard K
    (0x0F, 0x0C), // Keyboard L
    (0x10, 0x0D), // Keyboard M
    (0x11, 0x0E), // Keyboard N
    (0x12, 0x0F), // Keyboard O
    (0x13, 0x10), // Keyboard P
    (0x14, 0x11), // Keyboard Q
    (0x15, 0x12), // Keyboard R
    (0x16, 0x13), // Keyboard S
    (0x17, 0x14), // Keyboard T
    (0x18, 0x15), // Keyboard U
    (0x19, 0x16), // Keyboard V
    (0x1A, 0x17), // Keyboard W
    (0x1B, 0x18), // Keyboard X
    (0x1C, 0x19), // Keyboard Y
    (0x1D, 0x1A), // Keyboard Z
    (0x1F, 0x00), // Keyboard 2 @ (At)
    (0x23, 0x1E), // Keyboard 6 ^ (Caret)
    (0x2D, 0x1F), // Keyboard - _ (Dash Underscore)
    (0x2F, 0x1B), // Keyboard [ { (Left Brace)
    (0x30, 0x1D), // Keyboard ] } (Right Brace)
    (0x31, 0x1C), // Keyboard \ | (Backslash Pipe)
];

/// The name of every usage on page 0x07 the table lists, sorted by usage.
pub const USAGE_NAMES: &[(u8, &str)] = &[
    (0x01, "Error RollOver"),
    (0x02, "POST Fail"),
    (0x03, "Error Undefined"),
    (0x04, "Keyboard A"),
    (0x05, "Keyboard B"),
    (0x06, "Keyboard C"),
    (0x07, "Keyboard D"),
    (0x08, "Keyboard E"),
    (0x09, "Keyboard F"),
    (0x0A, "Keyboard G"),
    (0x0B, "Keyboard H"),
    (0x0C, "Keyboard I"),
    (0x0D, "Keyboard J"),
    (0x0E, "Keyboard K"),
    (0x0F, "Keyboard L"),
    (0x10, "Keyboard M"),
    (0x11, "Keyboard N"),
    (0x12, "Keyboard O"),
    (0x13, "Keyboard P"),
    (0x14, "Keyboard Q"),
    (0x15, "Keyboard R"),
    (0x16, "Keyboard S"),
    (0x17, "Keyboard T"),
    (0x18, "Keyboard U"),
    (0x19, "Keyboard V"),
    (0x1A, "Keyboard W"),
    (0x1B, "Keyboard X"),
    (0x1C, "Keyboard Y"),
    (0x1D, "Keyboard Z"),
    (0x1E, "Keyboard 1 ! (Bang)"),
    (0x1F, "Keyboard 2 @ (At)"),
    (0x20, "Keyboard 3 # (Hash)"),
    (0x21, "Keyboard 4 $ (Dollar)"),
    (0x22, "Keyboard 5 % (Percent)"),
    (0x23, "Keyboard 6 ^ (Caret)"),
    (0x24, "Keyboard 7 & (Ampersand)"),
    (0x25, "Keyboard 8 * (Star)"),
    (0x26, "Keyboard 9 ( (Left Bracket)"),
    (0x27, "Keyboard 0 ) (Right Bracket)"),
    (0x28, "Keyboard Enter"),
    (0x29, "Keyboard Escape"),
    (0x2A, "Keyboard Backspace"),
    (0x2B, "Keyboard Tab"),
    (0x2C, "Keyboard Space"),
    (0x2D, "Keyboard - _ (Dash Underscore)"),
    (0x2E, "Keyboard = + (Equals Plus)"),
    (0x2F, "Keyboard [ { (Left Brace)"),
    (0x30, "Keyboard ] } (Right Brace)"),
    (0x31, "Keyboard \\ | (Backslash Pipe)"),
    (0x32, "Keyboard # ~ (Non-US Hash Tilde)"),
    (0x33, "Keyboard ; : (Semicolon Colon)"),
    (0x34, "Keyboard ' \" (Left Apos Double)"),
    (0x35, "Keyboard ` ´ (Grave Accent Tilde)"),
    (0x36, "Keyboard , < (Comma Less)"),
    (0x37, "Keyboard . > (Period Greater)"),
    (0x38, "Keyboard / ? (ForwardSlash QuestionMark)"),
    (0x39, "Keyboard Caps Lock"),
    (0x3A, "Keyboard F1"),
    (0x3B, "Keyboard F2"),
    (0x3C, "Keyboard F3"),
    (0x3D, "Keyboard F4"),
    (0x3E, "Keyboard F5"),
    (0x3F, "Keyboard F6"),
    (0x40, "Keyboard F7"),
    (0x41, "Keyboard F8"),
    (0x42, "Keyboard F9"),
    (0x43, "Keyboard F10"),
    (0x44, "Keyboard F11"),
    (0x45, "Keyboard F12"),
    (0x46, "Keyboard PrintScreen"),
    (0x47, "Keyboard Scroll Lock"),
    (0x48, "Keyboard Pause"),
    (0x49, "Keyboard Insert"),
    (0x4A, "Keyboard Home"),
    (0x4B, "Keyboard PageUp"),
    (0x4C, "Keyboard Delete"),
    (0x4D, "Keyboard End"),
    (0x4E, "Keyboard PageDown"),
    (0x4F, "Keyboard RightArrow"),
    (0x50, "Keyboard LeftArrow"),
    (0x51, "Keyboard DownArrow"),
    (0x52, "Keyboard UpArrow"),
    (0x53, "Keypad Num Lock and Clear"),
    (0x54, "Keypad / (ForwardSlash)"),
    (0x55, "Keypad * (Star)"),
    (0x56, "Keypad - (Dash)"),
    (0x57, "Keypad + (Plus)"),
    (0x58, "Keypad Enter"),
    (0x59, "Keypad 1 End"),
    (0x5A, "Keypad 2 Down Arrow"),
    (0x5B, "Keypad 3 PageDn"),
    (0x5C, "Keypad 4 Left Arrow"),
    (0x5D, "Keypad 5"),
    (0x5E, "Keypad 6 Right Arrow"),
    (0x5F, "Keypad 7 Home"),
    (0x60, "Keypad 8 Up Arrow"),
    (0x61, "Keypad 9 PageUp"),
    (0x62, "Keypad 0 Insert"),
    (0x63, "Keypad . Delete"),
    (0x64, "Keyboard \\ | (Non-US Backslash Pipe)"),
    (0x65, "Keyboard Application"),
    (0x66, "Keyboard Power"),
    (0x67, "Keypad = (Equals)"),
    (0x68, "Keyboard F13"),
    (0x69, "Keyboard F14"),
    (0x6A, "Keyboard F15"),
    (0x6B, "Keyboard F16"),
    (0x6C, "Keyboard F17"),
    (0x6D, "Keyboard F18"),
    (0x6E, "Keyboard F19"),
    (0x6F, "Keyboard F20"),
    (0x70, "Keyboard F21"),
    (0x71, "Keyboard F22"),
    (0x72, "Keyboard F23"),
    (0x73, "Keyboard F24"),
    (0x74, "Keyboard Execute"),
    (0x75, "Keyboard Help"),
    (0x76, "Keyboard Menu"),
    (0x77, "Keyboard Select"),
    (0x78, "Keyboard Stop"),
    (0x79, "Keyboard Again"),
    (0x7A, "Keyboard Undo"),
    (0x7B, "Keyboard Cut"),
    (0x7C, "Keyboard Copy"),
    (0x7D, "Keyboard Paste"),
    (0x7E, "Keyboard Find"),
    (0x7F, "Keyboard Mute"),
    (0x80, "Keyboard Volume Up"),
    (0x81, "Keyboard Volume Down"),
    (0x82, "Keyboard Locking Caps Lock"),
    (0x83, "Keyboard Locking Num Lock"),
    (0x84, "Keyboard Locking Scroll Lock"),
    (0x85, "Keypad Comma"),
    (0x86, "Keypad Equal Sign"),
    (0x99, "Keyboard Alternate Erase"),
    (0x9A, "Keyboard SysReq Attention"),
    (0x9B, "Keyboard Cancel"),
    (0x9C, "Keyboard Clear"),
    (0x9D, "Keyboard Prior"),
    (0x9E, "Keyboard Return"),
    (0x9F, "Keyboard Separator"),
    (0xA0, "Keyboard Out"),
    (0xA1, "Keyboard Oper"),
    (0xA2, "Keyboard Clear/Again"),
    (0xA3, "Keyboard CrSel/Props"),
    (0xA4, "Keyboard ExSel"),
    (0xB0, "Keypad 00"),
    (0xB1, "Keypad 000"),
    (0xB2, "Thousands Separator"),
    (0xB3, "Decimal Separator"),
    (0xB4, "Currency Unit"),
    (0xB5, "Currency Sub-unit"),
    (0xB6, "Keypad ( (Left Bracket)"),
    (0xB7, "Keypad ) (Right Bracket)"),
    (0xB8, "Keypad { (Left Brace)"),
    (0xB9, "Keypad } (Right Brace)"),
    (0xBA, "Keypad Tab"),
    (0xBB, "Keypad Backspace"),
    (0xBC, "Keypad A"),
    (0xBD, "Keypad B"),
    (0xBE, "Keypad C"),
    (0xBF, "Keypad D"),
    (0xC0, "Keypad E"),
    (0xC1, "Keypad F"),
    (0xC2, "Keypad XOR"),
    (0xC3, "Keypad ^ (Caret)"),
    (0xC4, "Keypad % (Percent)"),
    (0xC5, "Keypad < (Less)"),
    (0xC6, "Keypad > (Greater)"),
    (0xC7, "Keypad & (Ampersand)"),
    (0xC8, "Keypad && (Double Ampersand)"),
    (0xC9, "Keypad | (Bar)"),
    (0xCA, "Keypad || (Double Bar)"),
    (0xCB, "Keypad : (Colon)"),
    (0xCC, "Keypad # (Hash)"),
    (0xCD, "Keypad Space"),
    (0xCE, "Keypad @ (At)"),
    (0xCF, "Keypad ! (Bang)"),
    (0xD0, "Keypad Memory Store"),
    (0xD1, "Keypad Memory Recall"),
    (0xD2, "Keypad Memory Clear"),
    (0xD3, "Keypad Memory Add"),
    (0xD4, "Keypad Memory Subtract"),
    (0xD5, "Keypad Memory Multiply"),
    (0xD6, "Keypad Memory Divide"),
    (0xD7, "Keypad +/- (Plus Minus)"),
    (0xD8, "Keypad Clear"),
    (0xD9, "Keypad Clear Entry"),
    (0xDA, "Keypad Binary"),
    (0xDB, "Keypad Octal"),
    (0xDC, "Keypad Decimal"),
    (0xDD, "Keypad Hexadecimal"),
    (0xE0, "Keyboard Left Control"),
    (0xE1, "Keyboard Left Shift"),
    (0xE2, "Keyboard Left Alt"),
    (0xE3, "Keyboard Left GUI"),
    (0xE4, "Keyboard Right Control"),
    (0xE5, "Keyboard Right Shift"),
    (0xE6, "Keyboard Right Alt"),
    (0xE7, "Keyboard Right GUI"),
];
