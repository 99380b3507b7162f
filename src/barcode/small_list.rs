//! A list that keeps its first few items inline and moves to the heap only past them: the
//! elements of one scan (a DataMatrix label carries four) are gathered without an allocation.
//! It owns no barcode logic.

/// Items kept inline before the list moves to the heap. Typical labels carry two to six AIs.
pub const SMALL_LIST_INLINE_LEN: usize = 8;

/// A list of `Copy` items, inline up to [`SMALL_LIST_INLINE_LEN`], on the heap past that.
#[derive(Clone, Debug, Default)]
pub enum SmallList<T: Copy> {
    #[default]
    Empty,
    /// The first `len` items are the list; the rest are copies of the first item, there only
    /// because an array must be filled.
    Inline {
        items: [T; SMALL_LIST_INLINE_LEN],
        len: usize,
    },
    Heap(Vec<T>),
}

impl<T: Copy> SmallList<T> {
    #[inline]
    pub fn push(&mut self, item: T) {
        match self {
            SmallList::Empty => {
                *self = SmallList::Inline {
                    items: [item; SMALL_LIST_INLINE_LEN],
                    len: 1,
                };
            }
            SmallList::Inline { items, len } => match items.get_mut(*len) {
                Some(slot) => {
                    *slot = item;
                    *len += 1;
                }
                None => {
                    let mut heap = Vec::with_capacity(2 * SMALL_LIST_INLINE_LEN);
                    heap.extend_from_slice(items);
                    heap.push(item);
                    *self = SmallList::Heap(heap);
                }
            },
            SmallList::Heap(heap) => heap.push(item),
        }
    }

    #[inline]
    pub fn as_slice(&self) -> &[T] {
        match self {
            SmallList::Empty => &[],
            SmallList::Inline { items, len } => items.get(..*len).unwrap_or_default(),
            SmallList::Heap(heap) => heap,
        }
    }

    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        match self {
            SmallList::Empty => &mut [],
            SmallList::Inline { items, len } => items.get_mut(..*len).unwrap_or_default(),
            SmallList::Heap(heap) => heap,
        }
    }

    /// Keeps the first `len` items.
    #[inline]
    pub fn truncate(&mut self, new_len: usize) {
        match self {
            SmallList::Empty => {}
            SmallList::Inline { len, .. } => *len = (*len).min(new_len),
            SmallList::Heap(heap) => heap.truncate(new_len),
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }
}

/// Lists are equal when their items are, wherever they are kept.
impl<T: Copy + PartialEq> PartialEq for SmallList<T> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: Copy + Eq> Eq for SmallList<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_then_heap() {
        let mut list = SmallList::default();
        assert!(list.is_empty());
        let mut want = Vec::new();
        for i in 0..3 * SMALL_LIST_INLINE_LEN {
            list.push(i);
            want.push(i);
            assert_eq!(list.as_slice(), want.as_slice());
            assert_eq!(
                matches!(list, SmallList::Heap(_)),
                i >= SMALL_LIST_INLINE_LEN,
                "{i}"
            );
        }
        list.as_mut_slice().swap(0, 1);
        want.swap(0, 1);
        list.truncate(2);
        assert_eq!(list.as_slice(), want.get(..2).unwrap());
        let mut inline = SmallList::default();
        inline.push('a');
        inline.push('b');
        inline.truncate(5);
        assert_eq!(inline.len(), 2);
        inline.truncate(1);
        assert_eq!(inline.as_slice(), ['a']);
    }
}
