//! Property tests for the RecordIO decoder: any split of a valid stream
//! decodes to the records, arbitrary bytes never panic or buffer beyond the
//! bounds, and a failed decoder stays failed. Case counts follow
//! `PROPTEST_CASES` (CI sets it).

use mesos_common::recordio::{Decoder, LENGTH_PREFIX_BYTES_MAX, RecordIoError, encode};
use proptest::prelude::*;

/// Cuts `data` at the given (sorted, deduplicated) offsets.
fn chunks(data: &[u8], mut cuts: Vec<usize>) -> Vec<&[u8]> {
    cuts.retain(|&c| c < data.len());
    cuts.sort_unstable();
    cuts.dedup();
    let mut out = Vec::new();
    let mut start = 0;
    for c in cuts {
        out.push(&data[start..c]);
        start = c;
    }
    out.push(&data[start..]);
    out
}

proptest! {
    #[test]
    fn any_split_decodes_to_the_records(
        records in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..8),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let stream: Vec<u8> = records.iter().flat_map(|r| encode(r)).collect();
        let cuts = cuts.into_iter().map(|c| c % (stream.len() + 1)).collect();
        let mut decoder = Decoder::new(300);
        let mut decoded = Vec::new();
        for chunk in chunks(&stream, cuts) {
            decoder.decode_into(chunk, &mut decoded).unwrap();
        }
        decoder.finish().unwrap();
        prop_assert_eq!(decoded, records);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_stay_bounded(
        data in prop::collection::vec(any::<u8>(), 0..512),
        cuts in prop::collection::vec(any::<usize>(), 0..10),
        max in 0usize..64,
    ) {
        let cuts = cuts.into_iter().map(|c| c % (data.len() + 1)).collect();
        let mut decoder = Decoder::new(max);
        let mut failed = false;
        for chunk in chunks(&data, cuts) {
            match decoder.decode(chunk) {
                Ok(records) => {
                    prop_assert!(!failed, "decoded after a failure");
                    prop_assert!(records.iter().all(|r| r.len() <= max));
                }
                Err(RecordIoError::Failed(_)) => prop_assert!(failed),
                Err(_) => {
                    prop_assert!(!failed);
                    failed = true;
                }
            }
            prop_assert!(decoder.buffered_bytes() <= max.max(LENGTH_PREFIX_BYTES_MAX));
        }
        let _ = decoder.finish();
    }
}
