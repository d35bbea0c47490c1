// SPDX-License-Identifier: GPL-2.0

//! Context cookies: `request::context_of`, `request::decode_cookie` and
//! `request::same_generation`.
//!
//! The driver puts a cookie in every request and the device writes it back,
//! untrusted, in the completion. The harness checks:
//!
//! - a cookie the driver makes for tag `t` in generation `g` has its upper 32
//!   bits and never its low 16 bits 0 (the device requires a non-zero
//!   context), and, for `t < count` (`count` at most 65535), decodes to
//!   context `t` and generation `g & 0xffff`, which `same_generation`
//!   recognises as `g`'s and as no other generation modulo 2^16 (a later
//!   command's); for `t >= count` it decodes to nothing;
//! - any 64-bit value the device writes decodes, if at all, to a context
//!   below `count` (whatever `count`), and back to the same cookie; it
//!   decodes exactly when its upper 32 bits are 0 and its low 16 bits name
//!   a context below `count`.

use arbitrary::Arbitrary;

use crate::request::{context_of, decode_cookie, same_generation, Cookie};

/// A command's tag and generation, and a cookie as the device writes it.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct Input {
    /// Block-layer tag.
    pub tag: u16,
    /// The context's generation.
    pub generation: u32,
    /// Another generation of the same context (a later command).
    pub other: u32,
    /// Number of contexts (at most 65535 in the driver).
    pub count: u16,
    /// A cookie from the device.
    pub cookie: u64,
    /// A number of contexts beyond the driver's limit.
    pub wide_count: usize,
}

/// Checks the decoding of a cookie the device wrote, for `count` contexts.
fn check_device_cookie(cookie: u64, count: usize) {
    let index = cookie & 0xffff;
    let valid = cookie >> 32 == 0 && index != 0 && (index - 1) < count as u64;
    match decode_cookie(cookie, count) {
        Some(c) => {
            assert!(valid, "cookie {cookie:#x} of {count} accepted as {c:?}");
            assert!(c.index < count && c.index < 0xffff, "{c:?} of {count}");
            assert!(c.generation <= 0xffff);
            assert_eq!(
                context_of(c.index as u32, c.generation),
                cookie,
                "round trip of {c:?}"
            );
        }
        None => assert!(!valid, "cookie {cookie:#x} of {count} refused"),
    }
}

/// Checks one tag, generation and device cookie.
pub fn run(input: &Input) {
    // The driver's tags are below its contexts, at most 65535 of them.
    let tag = u32::from(input.tag.min(0xfffe));
    let count = usize::from(input.count);
    let g = input.generation;
    let cookie = context_of(tag, g);
    assert_eq!(cookie >> 32, 0, "upper half of {cookie:#x}");
    assert_ne!(cookie & 0xffff, 0, "zero index in {cookie:#x}");
    match decode_cookie(cookie, count) {
        Some(c) => {
            assert!((tag as usize) < count, "tag {tag} of {count} decoded");
            assert_eq!(
                c,
                Cookie {
                    index: tag as usize,
                    generation: g & 0xffff,
                }
            );
            assert!(same_generation(g, &c));
            let same = input.other & 0xffff == g & 0xffff;
            assert_eq!(same_generation(input.other, &c), same);
            assert!(!same_generation(g.wrapping_add(1), &c));
        }
        None => assert!(tag as usize >= count, "tag {tag} of {count} lost"),
    }
    check_device_cookie(cookie, count);
    check_device_cookie(input.cookie, count);
    check_device_cookie(input.cookie, input.wide_count);
}
