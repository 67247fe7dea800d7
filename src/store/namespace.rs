//! The namespace's own record (`{ns}:meta`): creating it, reading it, and checking that
//! this store's pepper and master key fit it (the checks themselves live in [`crate::meta`]).

use redis::AsyncCommands;

use crate::crypto::Pepper;
use crate::error::{Error, Result};
use crate::layout::{LAYOUT_VERSION, meta_field};

use crate::record::{SecretAlg, now_ms};
use crate::seal::MasterKey;

use super::*;

impl Store {
    /// The namespace settings, or `None` when nothing was created in it yet.
    pub async fn meta(&self) -> Result<Option<NamespaceMeta>> {
        crate::meta::read_meta(&mut self.conn.clone(), &self.ns).await
    }

    /// Creates the namespace explicitly. Fails if it exists with other settings.
    pub async fn init(&self, mode: Mode, production: bool) -> Result<NamespaceMeta> {
        let alg = if self.pepper.is_some() {
            SecretAlg::HmacSha256
        } else if mode == Mode::Plain {
            SecretAlg::Plain
        } else {
            SecretAlg::Sha256
        };
        if mode == Mode::Sealed && self.master_key.is_none() {
            return Err(Error::Setup(
                "a sealed namespace needs a master key: set KEYTUI_MASTER_KEY or KEYTUI_MASTER_KEY_FILE \
                 (keytui init --mode sealed --generate-master-key FILE makes one)"
                    .into(),
            ));
        }
        let wanted = NamespaceMeta {
            layout: LAYOUT_VERSION,
            mode,
            secret_alg: alg,
            created_at: now_ms(),
            production,
            pepper_check: self.pepper.as_ref().map(Pepper::check_value),
            master_key_check: match mode {
                Mode::Sealed => self.master_key.as_ref().map(MasterKey::check_value),
                _ => None,
            },
            migrating_to: None,
        };
        let mut c = self.conn.clone();
        let key = self.ns.meta_key();
        let mut args: Vec<(&str, String)> = vec![
            (meta_field::LAYOUT, wanted.layout.to_string()),
            (meta_field::MODE, wanted.mode.as_str().into()),
            ("secret_alg", wanted.secret_alg.as_str().into()),
            (meta_field::CREATED_AT, wanted.created_at.to_string()),
            (
                meta_field::PRODUCTION,
                if production { "1" } else { "0" }.into(),
            ),
        ];
        if let Some(check) = &wanted.pepper_check {
            args.push((meta_field::PEPPER_CHECK, check.clone()));
        }
        if let Some(check) = &wanted.master_key_check {
            args.push((meta_field::MASTER_KEY_CHECK, check.clone()));
        }
        let created: i64 = redis::Script::new(CREATE_HASH)
            .key(&key)
            .arg(flatten(&args))
            .invoke_async(&mut c)
            .await?;
        if created == 1 {
            self.event("init", "", Some(mode.as_str())).await?;
            return Ok(wanted);
        }
        let existing = self
            .meta()
            .await?
            .ok_or_else(|| Error::Setup("namespace meta vanished during init".into()))?;
        if existing.mode != mode {
            return Err(Error::Setup(format!(
                "namespace {} already exists in {} mode",
                self.ns, existing.mode
            )));
        }
        self.check_pepper(&existing)?;
        self.check_master_key(&existing)?;
        if existing.production != production {
            let _: () = c
                .hset(
                    &key,
                    meta_field::PRODUCTION,
                    if production { "1" } else { "0" },
                )
                .await?;
            self.event(
                "init",
                "",
                Some(if production {
                    "production"
                } else {
                    "not production"
                }),
            )
            .await?;
        }
        Ok(NamespaceMeta {
            production,
            ..existing
        })
    }

    /// The namespace settings, creating a `hash` namespace when it does not exist yet.
    pub async fn ensure_meta(&self) -> Result<NamespaceMeta> {
        let meta = match self.meta().await? {
            Some(m) => m,
            None => self.init(Mode::Hash, false).await?,
        };
        self.check_pepper(&meta)?;
        Ok(meta)
    }

    /// Refuses a missing or wrong master key where the namespace seals secrets, before
    /// anything is written.
    pub fn check_master_key(&self, meta: &NamespaceMeta) -> Result<()> {
        if meta.write_mode() != Mode::Sealed && meta.mode != Mode::Sealed {
            return Ok(());
        }
        match (&self.master_key, &meta.master_key_check) {
            (None, _) => Err(Error::Setup(format!(
                "namespace {} seals secrets: set KEYTUI_MASTER_KEY or KEYTUI_MASTER_KEY_FILE",
                self.ns
            ))),
            (Some(k), Some(check)) if &k.check_value() != check => Err(Error::Setup(format!(
                "the master key does not match the one of namespace {}; nothing was changed",
                self.ns
            ))),
            (Some(_), None) => Err(Error::Setup(format!(
                "namespace {} has no master key check value; run keytui init --mode sealed",
                self.ns
            ))),
            _ => Ok(()),
        }
    }

    pub(crate) fn check_pepper(&self, meta: &NamespaceMeta) -> Result<()> {
        crate::meta::check_pepper(&self.ns, meta, self.pepper.as_ref())
    }

    // ---- create ---------------------------------------------------------------------
}

impl Store {
    // ---- layout re-check (long-running clients: the TUI) ----

    /// Checks the namespace's layout again now (one `HGET`), even when this connection
    /// passed the check before: another program may have moved the namespace to a newer
    /// layout since. A refusal is [`Error::Setup`], as from the gate.
    pub async fn recheck_layout(&self) -> Result<()> {
        crate::meta::check_layout(&mut self.conn.inner(), &self.ns)
            .await
            .map(drop)
    }
}
