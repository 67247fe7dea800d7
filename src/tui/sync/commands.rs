//! The commands the user asked for (create, revoke, rotate, ...) and the detail view's
//! history read: each runs against the store after the layout passes again and reports
//! its outcome as a [`Msg`]. Nothing here follows the feed or loads the list.

use tokio::sync::mpsc::UnboundedSender;

use crate::conn::{self, ConnectOptions};
use crate::error::Error;
use crate::store::{Event, RotateRequest, Store};

use crate::tui::msg::{BulkOp, LeakFound, Msg, SyncCmd, SyncOp};

/// Reads the whole history of one key for the detail view. Right after a reconnect the
/// store's shared connection may still be re-establishing itself (its first command
/// fails): a failure other than a refused layout is retried once on a fresh connection,
/// which answers whenever the server does — no waiting and no counting of attempts.
pub(super) async fn load_detail(
    store: &Store,
    opts: &ConnectOptions,
    id: String,
    actions: &UnboundedSender<Msg>,
) {
    async fn read(store: &Store, id: &str) -> Result<Vec<Event>, Error> {
        store.recheck_layout().await?;
        store.key_events(id).await
    }
    let result = match read(store, &id).await {
        Err(e) if !matches!(e, Error::Setup(_)) => {
            tracing::info!(error = %e, %id, "cannot read a key's events; trying a fresh connection");
            match conn::connect(opts).await {
                Ok(c) => read(&store.with_conn(c), &id).await,
                Err(_) => Err(e),
            }
        }
        r => r,
    };
    let _ = match result {
        Ok(events) => actions.send(Msg::DetailEvents { id, events }),
        Err(e) => {
            tracing::info!(error = %e, %id, "cannot read a key's events");
            let error = e.to_string();
            if matches!(e, Error::Setup(_)) {
                tracing::warn!(%error, "namespace refused; the history was not read");
                let _ = actions.send(Msg::Refused(error.clone()));
            }
            actions.send(Msg::DetailEventsFailed { id, error })
        }
    };
}

/// Runs one command against the store and reports the outcome.
pub(super) async fn execute(store: &Store, cmd: SyncCmd, actions: &UnboundedSender<Msg>) {
    let send = |a: Msg| {
        let _ = actions.send(a);
    };
    // Another program may have moved the namespace to a newer layout since the last
    // command: nothing is read or written before the layout passes again.
    if let Err(e) = store.recheck_layout().await {
        let error = e.to_string();
        match &cmd {
            SyncCmd::Create(_) => send(Msg::CreateFailed(error.clone())),
            SyncCmd::LoadDetail { id } => send(Msg::DetailEventsFailed {
                id: id.clone(),
                error: error.clone(),
            }),
            _ => {}
        }
        if matches!(e, Error::Setup(_)) {
            tracing::warn!(%error, "namespace refused; the command was not run");
            send(Msg::Refused(error));
        } else if let Some(op) = cmd_op(&cmd) {
            send(Msg::Failed { op, error });
        }
        return;
    }
    match cmd {
        // Sent to `load_detail` by `run`, never here.
        SyncCmd::LoadDetail { .. } => {}
        // Listed by `run`, never here.
        SyncCmd::Namespaces => {}
        SyncCmd::Create(req) => match store.create(&req).await {
            Ok(created) => send(Msg::Created {
                created: Box::new(created),
                rotated_from: None,
            }),
            Err(e) => send(Msg::CreateFailed(e.to_string())),
        },
        SyncCmd::Revoke { id, reason } => {
            let r = store.revoke(&id, reason.as_deref()).await;
            report(store, &id, SyncOp::Revoke, r.map(|_| ()), actions).await;
        }
        SyncCmd::ReadSecret { id, name } => match store.reveal(&id).await {
            Ok(secret) => send(Msg::SecretRead { name, secret }),
            Err(e) => send(Msg::Failed {
                op: SyncOp::ReadSecret,
                error: e.to_string(),
            }),
        },
        SyncCmd::ReadToken {
            id,
            name,
            prefix,
            checksum,
        } => {
            let token = store.reveal(&id).await.and_then(|secret| {
                crate::keygen::Token::new(prefix, id.clone(), secret, checksum)
                    .map(|t| t.format())
                    .map_err(Into::into)
            });
            match token {
                Ok(token) => send(Msg::TokenRead { name, token }),
                Err(e) => send(Msg::Failed {
                    op: SyncOp::ReadSecret,
                    error: e.to_string(),
                }),
            }
        }
        SyncCmd::Lookup { id, token } => {
            let (verdict, page) = futures::join!(
                store.verify_token(token.expose()),
                store.fetch(std::slice::from_ref(&id))
            );
            match (verdict, page) {
                (Ok(verdict), Ok(page)) => {
                    let found = if let Some(r) = page.records.into_iter().next() {
                        send(Msg::RecordChanged(Box::new(r)));
                        LeakFound::Key(verdict)
                    } else if page.malformed.is_empty() {
                        LeakFound::Missing
                    } else {
                        LeakFound::Malformed
                    };
                    send(Msg::Leak { id, found });
                }
                (Err(e), _) | (_, Err(e)) => send(Msg::Failed {
                    op: SyncOp::Lookup,
                    error: e.to_string(),
                }),
            }
        }
        SyncCmd::Restore { id } => {
            let r = store.restore(&id).await;
            report(store, &id, SyncOp::Restore, r.map(|_| ()), actions).await;
        }
        SyncCmd::Delete { id } => match store.delete(&id).await {
            Ok(()) => {
                send(Msg::RecordGone { id: id.clone() });
                send(Msg::Done {
                    op: SyncOp::Delete,
                    id,
                });
            }
            Err(e) => send(Msg::Failed {
                op: SyncOp::Delete,
                error: e.to_string(),
            }),
        },
        SyncCmd::Rotate { id, grace, force } => {
            let mut req = RotateRequest::new(grace);
            req.force = force;
            match store.rotate(&id, &req).await {
                Ok(rotated) => {
                    let created = rotated.created;
                    if let Ok(old) = store.get(&id).await {
                        send(Msg::RecordChanged(Box::new(old)));
                    }
                    send(Msg::Created {
                        created: Box::new(created),
                        rotated_from: Some(id),
                    });
                }
                Err(e) => send(Msg::Failed {
                    op: SyncOp::Rotate,
                    error: e.to_string(),
                }),
            }
        }
        SyncCmd::Edit { id, edit } => match store.edit(&id, &edit).await {
            Ok(edited) => {
                send(Msg::RecordChanged(Box::new(edited.record)));
                send(Msg::Done {
                    op: SyncOp::Edit,
                    id,
                });
            }
            Err(e) => send(Msg::Failed {
                op: SyncOp::Edit,
                error: e.to_string(),
            }),
        },
        SyncCmd::Bulk { op, ids } => {
            let total = ids.len();
            let progress = |handled| send(Msg::BulkProgress { handled, total });
            let r = match &op {
                BulkOp::Revoke { reason } => {
                    store.revoke_many(&ids, reason.as_deref(), progress).await
                }
                BulkOp::Restore => store.restore_many(&ids, progress).await,
                BulkOp::Delete => store.delete_many(&ids, progress).await,
                BulkOp::Extend { by } => store.extend_many(&ids, *by, progress).await,
            };
            match r {
                Ok(outcome) => send(Msg::BulkDone {
                    op,
                    asked: total,
                    outcome,
                }),
                Err(e) => send(Msg::Failed {
                    op: SyncOp::Bulk,
                    error: e.to_string(),
                }),
            }
        }
        // Handled by the loop in `run`.
        SyncCmd::Reload => {}
    }
}

/// What a failure of this command is reported as (create and detail have their own).
fn cmd_op(cmd: &SyncCmd) -> Option<SyncOp> {
    match cmd {
        SyncCmd::Revoke { .. } => Some(SyncOp::Revoke),
        SyncCmd::Restore { .. } => Some(SyncOp::Restore),
        SyncCmd::Delete { .. } => Some(SyncOp::Delete),
        SyncCmd::Rotate { .. } => Some(SyncOp::Rotate),
        SyncCmd::ReadSecret { .. } | SyncCmd::ReadToken { .. } => Some(SyncOp::ReadSecret),
        SyncCmd::Edit { .. } => Some(SyncOp::Edit),
        SyncCmd::Bulk { .. } => Some(SyncOp::Bulk),
        SyncCmd::Lookup { .. } => Some(SyncOp::Lookup),
        SyncCmd::Namespaces => Some(SyncOp::Namespaces),
        SyncCmd::Create(_) | SyncCmd::LoadDetail { .. } | SyncCmd::Reload => None,
    }
}

async fn report(
    store: &Store,
    id: &str,
    op: SyncOp,
    r: Result<(), Error>,
    actions: &UnboundedSender<Msg>,
) {
    let a = match r {
        Ok(()) => {
            if let Ok(rec) = store.get(id).await {
                let _ = actions.send(Msg::RecordChanged(Box::new(rec)));
            }
            Msg::Done {
                op,
                id: id.to_owned(),
            }
        }
        Err(e) => Msg::Failed {
            op,
            error: e.to_string(),
        },
    };
    let _ = actions.send(a);
}
