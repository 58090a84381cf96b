//! Dense numbers for the strings the model keeps (course, program, skill
//! ids, attribute values), and 128-bit keys for the ones it only looks up
//! (learner ids), so a million learners cost a few bytes each.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

/// "No such thing": the program of an enrollment outside any program, the
/// head of an empty list.
pub const NONE: u32 = u32::MAX;

/// Strings to dense numbers and back.
#[derive(Debug, Default, Clone)]
pub struct Interner {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl Interner {
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), i);
        i
    }

    pub fn get(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    pub fn name(&self, i: u32) -> &str {
        self.names.get(i as usize).map_or("", String::as_str)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// A 128-bit key of an id string: two independent SipHash halves. Ids are
/// server-made UUIDs, so a collision (about 2^-64 for a billion ids) is not
/// a practical concern, and a key is 16 bytes instead of a 36-byte string.
pub fn key(id: &str) -> u128 {
    let half = |salt: u8| {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        id.hash(&mut h);
        h.finish()
    };
    (u128::from(half(0)) << 64) | u128::from(half(1))
}

/// A 64-bit fingerprint of an enrollment id, compared only among one
/// learner's enrollments.
pub fn fingerprint(id: &str) -> u64 {
    let mut h = DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_stable_and_reversible() {
        let mut names = Interner::default();
        let a = names.intern("Baku");
        let b = names.intern("Ganja");
        assert_eq!(names.intern("Baku"), a);
        assert_ne!(a, b);
        assert_eq!(names.name(b), "Ganja");
        assert_eq!(names.get("Quba"), None);
        assert_eq!(names.name(NONE), "");
    }

    #[test]
    fn keys_differ_for_different_ids() {
        assert_ne!(key("a"), key("b"));
        assert_eq!(key("0190"), key("0190"));
        assert_ne!(fingerprint("x"), fingerprint("y"));
    }
}
