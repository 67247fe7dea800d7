//! Update tests of the daily-work parts of the table: status messages that expire, the
//! sort order and its header arrow, the columns, the `:` command line and the edit form.
//! The clock is injected (`State::now`): nothing sleeps.

use super::*;
use crate::tui::fixtures::{NOW, code, key, state};
use crossterm::event::KeyCode;

fn typed(s: &mut State, text: &str) -> Vec<Out> {
    let mut outs = Vec::new();
    for c in text.chars() {
        outs.extend(update(s, key(c)));
    }
    outs
}

fn text(s: &State) -> Option<&str> {
    s.message.as_ref().map(|m| m.text.as_str())
}

#[test]
fn a_status_message_goes_away_after_a_few_seconds_errors_stay_longer() {
    let mut s = state();
    // An ordinary message: gone on the tick five seconds later, not before.
    update(&mut s, key('s'));
    assert_eq!(text(&s), Some("showing active keys"));
    let due = s.next_tick().expect("the message's end is a tick");
    assert!(due <= Duration::from_millis(MESSAGE_MS as u64), "{due:?}");
    s.now = NOW + MESSAGE_MS - 1;
    update(&mut s, Msg::Tick);
    assert_eq!(text(&s), Some("showing active keys"));
    s.now = NOW + MESSAGE_MS;
    update(&mut s, Msg::Tick);
    assert_eq!(text(&s), None);

    // An error stays longer than a message would.
    s.now = NOW + 10_000;
    update(&mut s, Msg::Connection(ConnState::Offline));
    assert!(s.message.as_ref().is_some_and(|m| m.error));
    s.now += MESSAGE_MS;
    update(&mut s, Msg::Tick);
    assert!(s.message.is_some(), "an error outlives an ordinary message");
    s.now = NOW + 10_000 + ERROR_MS;
    update(&mut s, Msg::Tick);
    assert_eq!(text(&s), None);
}

#[test]
fn a_newer_message_replaces_the_old_one_and_gets_its_own_time() {
    let mut s = state();
    update(&mut s, key('s'));
    s.now = NOW + 4_000;
    update(&mut s, key('s'));
    assert_eq!(text(&s), Some("showing revoked keys"));
    // The first message's time is up, the second's is not.
    s.now = NOW + MESSAGE_MS + 1;
    update(&mut s, Msg::Tick);
    assert_eq!(text(&s), Some("showing revoked keys"));
    s.now = NOW + 4_000 + MESSAGE_MS;
    update(&mut s, Msg::Tick);
    assert_eq!(text(&s), None);
    let _ = (typed, code(KeyCode::Enter));
}
