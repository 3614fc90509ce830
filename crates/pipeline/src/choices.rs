//! [`ChoiceMap`]: what a stage keeps per choice of one stream, found by
//! choice index in constant time.

use std::collections::HashMap;

/// Values kept per choice of one stream, found by choice index in constant
/// time whatever the indexes are; each value is independent of the others.
///
/// Entries are kept in the order their choices were first seen. A choice
/// whose index is its position is found with one comparison: streams
/// number their choices 0, 1, 2, ... and nearly always first send them in
/// that order. Any other is found through a hash map from index to
/// position, which such streams never allocate.
///
/// ```
/// use thinktee_pipeline::ChoiceMap;
///
/// let mut texts: ChoiceMap<String> = ChoiceMap::new();
/// texts.get_or_insert_with(1, String::new).push_str("b");
/// texts.get_or_insert_with(0, String::new).push_str("a");
/// texts.get_or_insert_with(1, String::new).push_str("c");
/// assert_eq!(texts.get(1).map(String::as_str), Some("bc"));
/// let sorted: Vec<_> = texts.drain_sorted().collect();
/// assert_eq!(sorted, [(0, "a".to_owned()), (1, "bc".to_owned())]);
/// assert!(texts.is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct ChoiceMap<T> {
    entries: Vec<(u32, T)>,
    /// Where the entries that are not at their own index are.
    elsewhere: HashMap<u32, usize>,
}

impl<T> Default for ChoiceMap<T> {
    fn default() -> Self {
        ChoiceMap { entries: Vec::new(), elsewhere: HashMap::new() }
    }
}

impl<T> ChoiceMap<T> {
    /// An empty map; it allocates nothing until a choice is added.
    pub fn new() -> ChoiceMap<T> {
        ChoiceMap::default()
    }

    /// How many choices it holds.
    #[inline]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds no choice.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value of choice `index`, if it has one.
    #[inline]
    pub fn get(&self, index: u32) -> Option<&T> {
        let at = self.position(index)?;
        Some(&self.entries[at].1)
    }

    /// The value of choice `index`, mutably, if it has one.
    #[inline]
    pub fn get_mut(&mut self, index: u32) -> Option<&mut T> {
        let at = self.position(index)?;
        Some(&mut self.entries[at].1)
    }

    /// The value of choice `index`, made by `value` on first sight.
    #[inline]
    pub fn get_or_insert_with(&mut self, index: u32, value: impl FnOnce() -> T) -> &mut T {
        let own = index as usize;
        #[cfg(test)]
        probes::count(1);
        if self.entries.get(own).is_some_and(|(at_own, _)| *at_own == index) {
            return &mut self.entries[own].1;
        }
        self.elsewhere_or_insert(index, value)
    }

    /// [`ChoiceMap::get_or_insert_with`] for a choice not at its own index.
    fn elsewhere_or_insert(&mut self, index: u32, value: impl FnOnce() -> T) -> &mut T {
        #[cfg(test)]
        probes::count(1);
        let at = match self.elsewhere.get(&index) {
            Some(&at) => at,
            None => self.push(index, value()),
        };
        &mut self.entries[at].1
    }

    /// The choices and their values, in the order first seen.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        self.entries.iter().map(|(index, value)| (*index, value))
    }

    /// Empties the map, keeping its allocations.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.elsewhere.clear();
    }

    /// Empties the map, yielding every choice and its value by index.
    pub fn drain_sorted(&mut self) -> std::vec::Drain<'_, (u32, T)> {
        self.elsewhere.clear();
        self.entries.sort_unstable_by_key(|(index, _)| *index);
        self.entries.drain(..)
    }

    /// Where choice `index` is: at its own index, or where `elsewhere` says.
    #[inline]
    fn position(&self, index: u32) -> Option<usize> {
        let own = index as usize;
        #[cfg(test)]
        probes::count(1);
        match self.entries.get(own) {
            Some((at_own, _)) if *at_own == index => Some(own),
            _ => {
                #[cfg(test)]
                probes::count(1);
                self.elsewhere.get(&index).copied()
            }
        }
    }

    /// Adds choice `index`, which has no entry yet; returns where.
    #[cold]
    fn push(&mut self, index: u32, value: T) -> usize {
        let at = self.entries.len();
        if at != index as usize {
            self.elsewhere.insert(index, at);
        }
        self.entries.push((index, value));
        at
    }
}

/// In test builds: how many places lookups looked at (an entry, or the
/// hash map), so tests can show by counting that a lookup costs the same
/// whatever the number of choices.
#[cfg(test)]
pub(crate) mod probes {
    use std::cell::Cell;

    thread_local! {
        static PROBES: Cell<u64> = const { Cell::new(0) };
    }

    pub(super) fn count(n: u64) {
        PROBES.with(|p| p.set(p.get() + n));
    }

    /// Runs `f`; returns how many probes it made on this thread.
    pub(crate) fn during(f: impl FnOnce()) -> u64 {
        let before = PROBES.with(Cell::get);
        f();
        PROBES.with(Cell::get) - before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_choices_never_use_the_hash_map() {
        let mut map = ChoiceMap::new();
        for index in 0..100 {
            *map.get_or_insert_with(index, || 0) += index;
        }
        assert_eq!(map.elsewhere.capacity(), 0);
        assert_eq!(map.get(42), Some(&42));
        assert_eq!(map.get(100), None);
    }

    #[test]
    fn any_order_and_any_index_is_found() {
        let mut map = ChoiceMap::new();
        let indexes = [7, 0, u32::MAX, 1, 3, 2];
        for (n, &index) in indexes.iter().enumerate() {
            map.get_or_insert_with(index, || n);
        }
        for (n, &index) in indexes.iter().enumerate() {
            assert_eq!(map.get(index), Some(&n), "{index}");
            assert_eq!(map.get_or_insert_with(index, || 99), &n);
        }
        assert_eq!((map.len(), map.get(4)), (6, None));
        assert_eq!(map.get_mut(5), None);
        let order: Vec<u32> = map.iter().map(|(index, _)| index).collect();
        assert_eq!(order, indexes);
        let sorted: Vec<u32> = map.drain_sorted().map(|(index, _)| index).collect();
        assert_eq!(sorted, [0, 1, 2, 3, 7, u32::MAX]);
        // Empty again, and reusable.
        assert_eq!((map.len(), map.get(7)), (0, None));
        map.get_or_insert_with(0, || 5);
        assert_eq!(map.get(0), Some(&5));
    }
}
