use super::*;

#[test]
fn blocks_cover_the_range_in_order() {
    for len in [0, 1, 5, 256, 257] {
        for parts in 1..5 {
            let mut next = 0;
            for p in 0..parts {
                let r = block(len, parts, p);
                assert_eq!(r.start, next);
                next = r.end;
            }
            assert_eq!(next, len);
        }
    }
}

#[test]
fn ranges_cover_the_buffer_once_in_aligned_pieces() {
    for threads in [1, 2, 3] {
        for len in [0, 1, 15, 16, 4095, 4096, 10_000, 100_003] {
            let seen: Vec<std::sync::atomic::AtomicU8> = (0..len).map(|_| Default::default()).collect();
            let pieces = std::sync::Mutex::new(Vec::new());
            with_simulated_threads(threads, || {
                for_each_range(len, 4096, |r| {
                    pieces.lock().unwrap().push(r.clone());
                    r.for_each(|i| {
                        seen[i].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    });
                })
            });
            assert!(
                seen.iter().all(|c| c.load(std::sync::atomic::Ordering::Relaxed) == 1),
                "len {len}, {threads} threads"
            );
            let pieces = pieces.into_inner().unwrap();
            assert!(pieces.len() <= threads.max(1));
            assert!(pieces.iter().all(|r| r.start % 16 == 0), "{pieces:?}");
            if len < 8192 {
                assert!(pieces.len() <= 1, "a small buffer is one piece: {pieces:?}");
            }
        }
    }
}

#[test]
fn reduce_adds_partials_in_order() {
    let mut dst = vec![1.0f32; 3000];
    let partials: Vec<f32> = (0..6000).map(|i| i as f32).collect();
    with_simulated_threads(3, || reduce_into(&mut dst, &partials, 2));
    for (i, v) in dst.iter().enumerate() {
        assert_eq!(*v, (1.0 + i as f32) + (3000 + i) as f32);
    }
}
