//! Small helpers on slices shared by stages that compare two sequences.

/// How many items two sequences share at their start, and then how many of the rest they share
/// at their end (the two never overlap).
pub(crate) fn common_ends<T: PartialEq>(a: &[T], b: &[T]) -> (usize, usize) {
    let head = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    (head, tail)
}

#[cfg(test)]
mod tests {
    use super::common_ends;

    #[test]
    fn the_shared_ends_do_not_overlap() {
        assert_eq!(common_ends(&[1, 2, 3, 4], &[1, 2, 9, 4]), (2, 1));
        assert_eq!(common_ends(&[1, 1], &[1, 1, 1]), (2, 0));
        assert_eq!(common_ends::<u8>(&[], &[]), (0, 0));
        assert_eq!(common_ends(&[5, 1], &[7, 1]), (0, 1));
    }
}
