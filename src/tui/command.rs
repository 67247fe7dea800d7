//! The `:` command line of the key table (like vim or k9s): what each command does, the
//! one registry of them ([`COMMANDS`]: adding a command is one line there), Tab
//! completion, and the keys while the line is open (through the key table). Any action of
//! the table is a command too, by its config name (`:reload`, `:new`). A child of `state`
//! (declared there): commands change the table's state directly and return [`Out`]s; no
//! I/O, no drawing.

use crossterm::event::KeyEvent;
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::table_keys;
use super::*;
use crate::tui::keymap::{Action, Context};
use crate::tui::table_view::{COLUMN_NAMES, Column, SORT_KEYS, Sort};

/// What a command does with the words after its name: the work to send out, or a
/// one-line error for the status line.
type Run = fn(&mut State, &[&str]) -> Result<Vec<Out>, String>;

/// One command of the `:` line.
pub struct Command {
    pub name: &'static str,
    /// What follows the name, for the help and errors.
    pub usage: &'static str,
    pub run: Run,
    /// What the word after the name may be, for Tab.
    pub args: &'static [&'static str],
}

const SORT_ARGS: [&str; 6] = ["name", "created", "expires", "used", "status", "last_used"];

/// Every command of the `:` line.
#[rustfmt::skip]
pub const COMMANDS: &[Command] = &[
    Command { name: "sort", usage: "<field> [asc|desc]", run: sort, args: &SORT_ARGS },
    Command { name: "columns", usage: "<col>,<col>,… (meta.<key> too)", run: columns, args: &COLUMN_NAMES },
    Command { name: "q", usage: "", run: |s, _| Ok(table_keys::on_action(s, Action::Quit)), args: &[] },
    Command { name: "help", usage: "", run: |s, _| Ok(table_keys::on_action(s, Action::Help)), args: &[] },
    Command { name: "ns", usage: "[name]", run: ns, args: &[] },
];

/// `:ns [name]`: the namespace picker, its filter already typed when a name is given.
fn ns(state: &mut State, args: &[&str]) -> Result<Vec<Out>, String> {
    if args.len() > 1 {
        return Err("usage: :ns [name]".into());
    }
    let outs = table_keys::on_action(state, Action::Namespaces);
    if let (Some(name), Screen::Namespaces(picker)) = (args.first(), &mut state.screen) {
        picker.typed = Input::new((*name).to_owned());
    }
    Ok(outs)
}

/// The open command line's text.
pub fn open(state: &mut State) {
    state.command = Some(Input::default());
}

/// A key while the command line is open: Enter runs it, Tab completes, Esc closes it,
/// other keys type.
pub fn on_key(state: &mut State, key: &KeyEvent) -> Vec<Out> {
    let Some(input) = state.command.as_mut() else {
        return Vec::new();
    };
    match state.keymap.lookup_in(Context::Command, key) {
        Some(Action::Back) => {
            state.command = None;
            Vec::new()
        }
        Some(Action::NextField) => {
            let done = complete(input.value());
            *input = Input::new(done);
            Vec::new()
        }
        Some(Action::Confirm) => {
            let line = input.value().to_owned();
            state.command = None;
            run(state, &line)
        }
        _ => {
            input.handle_event(&crossterm::event::Event::Key(*key));
            Vec::new()
        }
    }
}

/// Runs one command line (without the `:`); an unknown command or a bad argument is a
/// one-line error in the status line.
pub fn run(state: &mut State, line: &str) -> Vec<Out> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some((&name, args)) = words.split_first() else {
        return Vec::new();
    };
    let result = match COMMANDS.iter().find(|c| c.name == name) {
        Some(c) => (c.run)(state, args).map_err(|e| match c.usage {
            "" => e,
            usage => format!("{e} (:{} {usage})", c.name),
        }),
        None => match table_action(name) {
            Some(a) if args.is_empty() => Ok(table_keys::on_action(state, a)),
            Some(_) => Err(format!(":{name} takes no arguments")),
            None => Err(format!(
                "unknown command :{} (Tab completes; try :help)",
                crate::sanitize::line(name)
            )),
        },
    };
    result.unwrap_or_else(|e| {
        state.complain(e);
        Vec::new()
    })
}

/// A table action by its config name (`reload`, `new`), when it works on the table.
fn table_action(name: &str) -> Option<Action> {
    Action::ALL
        .into_iter()
        .find(|a| a.config_name() == name && Context::Table.actions().contains(a))
}

/// Completes the last word: a command name, or the command's argument (for `:columns`,
/// the name after the last comma). Several candidates: their common start.
pub fn complete(line: &str) -> String {
    let (head, word) = match line.rfind([' ', ',']) {
        Some(i) => (&line[..=i], &line[i + 1..]),
        None => ("", line),
    };
    let candidates: Vec<String> = if head.is_empty() {
        COMMANDS
            .iter()
            .map(|c| c.name.to_owned())
            .chain(
                Context::Table
                    .actions()
                    .iter()
                    .map(|a| a.config_name().to_owned()),
            )
            .collect()
    } else {
        let name = head.split_whitespace().next().unwrap_or("");
        COMMANDS
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.args.iter().map(|s| (*s).to_owned()).collect())
            .unwrap_or_default()
    };
    let hits: Vec<&String> = candidates.iter().filter(|c| c.starts_with(word)).collect();
    let Some(first) = hits.first() else {
        return line.to_owned();
    };
    let common = hits.iter().fold(first.as_str(), |acc, h| {
        let n = acc
            .chars()
            .zip(h.chars())
            .take_while(|(a, b)| a == b)
            .count();
        &acc[..acc.char_indices().nth(n).map_or(acc.len(), |(i, _)| i)]
    });
    let space = if hits.len() == 1 && head.is_empty() {
        " "
    } else {
        ""
    };
    format!("{head}{common}{space}")
}

fn sort(state: &mut State, args: &[&str]) -> Result<Vec<Out>, String> {
    if args.is_empty() {
        let names: Vec<&str> = SORT_KEYS.iter().map(|(_, n)| *n).collect();
        return Err(format!("sort by what? {}", names.join(", ")));
    }
    let sort = Sort::parse(&args.join(" "))?;
    Ok(state.set_sort(Some(sort)))
}

fn columns(state: &mut State, args: &[&str]) -> Result<Vec<Out>, String> {
    if args.is_empty() {
        let now: Vec<String> = state.view.columns.iter().map(Column::config_name).collect();
        state.say(format!("columns: {}", now.join(",")));
        return Ok(Vec::new());
    }
    let cols = Column::parse_list(&args.join(","))?;
    state.view.columns = cols;
    let now: Vec<String> = state.view.columns.iter().map(Column::config_name).collect();
    state.say(format!("columns: {}", now.join(",")));
    Ok(vec![state.save_view()])
}
