//! The scanner against its definition: block boundaries, line ends, binary data, dense
//! near-misses.

use super::*;
use crate::keygen::{Secret, Token};
use crate::test_rng::Rng;

fn token(prefix: Option<&str>, id: &str, secret: &str) -> String {
    Token {
        prefix: prefix.map(str::to_owned),
        id: id.into(),
        secret: Secret::new(secret.into()),
        checksum: true,
    }
    .format()
    .expose()
    .to_owned()
}

fn scan(text: &[u8]) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    scan_reader(text, |f| out.push((f.line, f.token.to_string()))).unwrap();
    out
}

#[test]
fn finds_tokens_with_line_numbers_and_ignores_near_misses() {
    let a = token(Some("sk_live"), "4fQx0bZ9LmP2sT7a", "S3cretS3cretS3cret");
    let b = token(None, "AbC123", "x_y-z");
    let mut typo = a.clone();
    typo.replace_range(10..11, "Z");
    let text = format!(
        "start\nAuthorization: Bearer {a}\nsome_snake_case words\n{typo}\nkey={b}, x_{a}\n"
    );
    let found = scan(text.as_bytes());
    assert_eq!(
        found,
        vec![(2, a.clone()), (5, b.clone()), (5, a.clone())],
        "{text}"
    );
}

#[test]
fn tokens_cut_by_chunk_boundaries_are_found() {
    let t = token(
        Some("pk_test"),
        "Zz9Zz9Zz9Zz9Zz9Z",
        "abcdefghijklmnopqrstuvwxyz0123456789",
    );
    for shift in [0usize, 1, 7, 20, t.len() - 1, t.len(), t.len() + 1] {
        let mut text = vec![b'.'; CHUNK - shift];
        text.extend_from_slice(b"\n");
        text.extend_from_slice(t.as_bytes());
        text.extend_from_slice(b"\nend\n");
        text.extend(std::iter::repeat_n(b'a', 10));
        assert_eq!(scan(&text), vec![(2, t.clone())], "shift {shift}");
    }
}

#[test]
fn a_run_longer_than_any_token_is_skipped_across_chunks() {
    let t = token(None, "Id0", "secret");
    let mut text = vec![b'A'; CHUNK * 2 + 17];
    text.extend_from_slice(b"_");
    text.extend_from_slice(t.as_bytes());
    text.extend_from_slice(b" ");
    text.extend_from_slice(t.as_bytes());
    assert_eq!(scan(&text), vec![(1, t.clone())]);
}

fn scan_with(text: &[u8], block: usize) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    scan_blocks(text, block, |f| out.push((f.line, f.token.to_string()))).unwrap();
    out
}

/// The module doc's definition, over the whole text at once and one run at a time.
fn reference(text: &[u8]) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if !TOKEN_BYTE[text[i] as usize] {
            i += 1;
            continue;
        }
        let s = i;
        while i < text.len() && TOKEN_BYTE[text[i] as usize] {
            i += 1;
        }
        let run = &text[s..i];
        let first = run.iter().position(|&c| c == b'_');
        if first.is_some_and(|f| f + 8 <= run.len())
            && let Some(t) = token_in_run(run)
        {
            let line = 1 + text[..s].iter().filter(|&&c| c == b'\n').count() as u64;
            out.push((line, t.to_owned()));
        }
    }
    out
}

#[test]
fn agrees_with_the_definition_on_random_logs_for_any_block_size() {
    let tokens = [
        token(Some("sk_live"), "4fQx0bZ9LmP2sT7a", "S3cretS3cretS3cret"),
        token(None, "AbC123", "x_y-z"),
        token(Some("ghp"), "Id0", "s"),
        token(Some("pk_test"), "a-b-c", "-_-_-_-_"),
    ];
    let mut near: Vec<String> = tokens.iter().map(|t| format!("{t}x")).collect();
    near.extend(tokens.iter().map(|t| t[1..t.len() - 1].to_owned()));
    let pieces: &[&[u8]] = &[
        b" ",
        b"\n",
        b"\r\n",
        b"_",
        b"-",
        b"snake_case",
        b"user_id=",
        b"01234",
        b"a_b01234z",
        b"job_0: ",
        b"\x00",
        b"\xff",
        b"\xc3",
        b"=",
        b"\t",
    ];
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut found = 0;
    for round in 0..40 {
        let mut text = Vec::new();
        while text.len() < 6000 {
            match rng.next(10) {
                0 => text.extend_from_slice(tokens[rng.next(tokens.len())].as_bytes()),
                1 => text.extend_from_slice(near[rng.next(near.len())].as_bytes()),
                2 if round % 8 == 0 => text.extend(std::iter::repeat_n(b'a', 4090 + rng.next(10))),
                _ => text.extend_from_slice(pieces[rng.next(pieces.len())]),
            }
        }
        let want = reference(&text);
        found += want.len();
        for block in [7, 64, 65, 1000, 4096, 4097, CHUNK] {
            assert_eq!(
                scan_with(&text, block),
                want,
                "round {round}, block {block}"
            );
        }
    }
    assert!(found > 100, "the random logs hold tokens: {found}");
}

#[test]
fn a_token_cut_at_every_place_by_small_blocks_is_found() {
    let t = token(Some("sk_live"), "Zz9Zz9Zz9", "abcdefghij_klmnop");
    for block in [1, 2, 9, 16, 64] {
        for lead in 0..=t.len() + 1 {
            let mut text = vec![b'.'; lead];
            text.extend_from_slice(b"\n");
            text.extend_from_slice(t.as_bytes());
            text.extend_from_slice(b"\nend");
            assert_eq!(
                scan_with(&text, block),
                vec![(2, t.clone())],
                "block {block}, lead {lead}"
            );
        }
    }
}

#[test]
fn crlf_lines_count_and_the_carriage_return_is_not_part_of_the_token() {
    let t = token(None, "AbC123", "S3cret");
    let text = format!("first\r\nsecond {t}\r\n\r\n{t}\r\n");
    assert_eq!(scan(text.as_bytes()), vec![(2, t.clone()), (4, t.clone())]);
}

#[test]
fn a_token_at_the_end_without_a_newline_is_found() {
    let t = token(Some("sk_live"), "AbC123", "S3cret");
    for text in [t.clone(), format!("a\nb {t}"), format!("x\n\n{t}")] {
        let line = text.matches('\n').count() as u64 + 1;
        assert_eq!(scan(text.as_bytes()), vec![(line, t.clone())], "{text}");
        assert_eq!(scan_with(text.as_bytes(), 5), vec![(line, t.clone())]);
    }
}

#[test]
fn tokens_in_binary_data_are_found_and_nothing_else_is() {
    let t = token(Some("pk_test"), "Id0", "binary");
    let mut rng = Rng(7);
    let mut text: Vec<u8> = (0..200_000).map(|_| rng.next(256) as u8).collect();
    let noise = reference(&text);
    let mut at = Vec::new();
    for pos in [0, 99_999, 150_000] {
        text.splice(pos..pos, [&[0xff][..], t.as_bytes(), &[0x00]].concat());
        at.push(pos);
    }
    let found = scan(&text);
    assert_eq!(found, reference(&text));
    assert_eq!(found.iter().filter(|f| f.1 == t).count(), 3, "{noise:?}");
}

#[test]
fn dense_near_misses_find_nothing_and_later_lines_still_count() {
    // Every run passes the cheap checks (a `_`, a checksum-shaped end) but has no valid CRC.
    let t = token(None, "AbC123", "S3cret");
    let mut text = "key_abcdefg01234z x_y_z_0aaaaa snake_case_4ZZZZZ\n".repeat(20_000);
    text.push_str(&t);
    assert_eq!(scan(text.as_bytes()), vec![(20_001, t)]);
}

#[test]
fn several_tokens_on_one_line_are_found_in_order() {
    let a = token(Some("sk_live"), "One1", "first");
    let b = token(None, "Two2", "second");
    let c = token(Some("ghp"), "Three3", "third_part");
    let text = format!("x\na={a} b=\"{b}\",{c};{a}\n");
    assert_eq!(
        scan(text.as_bytes()),
        vec![(2, a.clone()), (2, b), (2, c), (2, a)]
    );
}
