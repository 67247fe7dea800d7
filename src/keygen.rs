//! TEMPORARY stub with the agreed API; replaced by the real module from branch `keygen`.
use std::fmt;
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum KeygenError {
    #[error("{0}")]
    Invalid(String),
}

#[derive(Clone, Debug)]
pub enum Encoding {
    Hex,
    Base62,
}
impl std::str::FromStr for Encoding {
    type Err = KeygenError;
    fn from_str(s: &str) -> Result<Self, KeygenError> {
        match s {
            "hex" => Ok(Encoding::Hex),
            "base62" => Ok(Encoding::Base62),
            _ => Err(KeygenError::Invalid(format!("unknown encoding {s}"))),
        }
    }
}
impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}
#[derive(Clone, Debug)]
pub enum Length {
    Bytes(usize),
    Chars(usize),
}
#[derive(Clone, Debug)]
pub struct Spec {
    pub encoding: Encoding,
    pub length: Length,
}
pub const MIN_SECRET_BITS: f64 = 128.0;
impl Spec {
    pub fn char_len(&self) -> usize {
        match self.length {
            Length::Bytes(n) => n * 2,
            Length::Chars(n) => n,
        }
    }
    pub fn entropy_bits(&self) -> f64 {
        self.char_len() as f64 * 4.0
    }
    pub fn secret_default() -> Spec {
        Spec {
            encoding: Encoding::Hex,
            length: Length::Bytes(32),
        }
    }
    pub fn id_default() -> Spec {
        Spec {
            encoding: Encoding::Hex,
            length: Length::Chars(16),
        }
    }
    pub fn tastypie() -> Spec {
        Spec {
            encoding: Encoding::Hex,
            length: Length::Bytes(20),
        }
    }
}
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);
impl Secret {
    pub fn new(s: String) -> Self {
        Secret(Zeroizing::new(s))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}
impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}
fn hex_of(n: usize) -> String {
    let mut b = vec![0u8; n.div_ceil(2)];
    getrandom_fill(&mut b);
    let mut s = hex::encode(b);
    s.truncate(n);
    if s.chars().all(|c| c.is_ascii_lowercase()) {
        s.replace_range(0..1, "0");
    }
    s
}
fn getrandom_fill(b: &mut [u8]) {
    use rand::TryRng;
    let _ = rand::rngs::SysRng.try_fill_bytes(b);
}
pub fn generate_secret(spec: &Spec, _allow_weak: bool) -> Result<Secret, KeygenError> {
    Ok(Secret::new(hex_of(spec.char_len())))
}
pub fn generate_id(spec: &Spec) -> Result<String, KeygenError> {
    Ok(hex_of(spec.char_len()))
}
pub fn validate_prefix(_p: &str) -> Result<(), KeygenError> {
    Ok(())
}
pub fn validate_id(_p: &str) -> Result<(), KeygenError> {
    Ok(())
}
pub fn checksum(text: &str) -> String {
    format!("{:06}", crc32fast::hash(text.as_bytes()) % 1_000_000)
}
pub struct Token {
    pub prefix: Option<String>,
    pub id: String,
    pub secret: Secret,
    pub checksum: bool,
}
impl Token {
    pub fn format(&self) -> Secret {
        let mut s = String::new();
        if let Some(p) = &self.prefix {
            s.push_str(p);
            s.push('_');
        }
        s.push_str(&self.id);
        s.push('_');
        s.push_str(self.secret.expose());
        if self.checksum {
            let c = checksum(&s);
            s.push_str(&c);
        }
        Secret::new(s)
    }
    pub fn parse(s: &str) -> Result<ParsedToken, KeygenError> {
        let (id, rest) = s
            .split_once('_')
            .ok_or(KeygenError::Invalid("bad token".into()))?;
        Ok(ParsedToken {
            prefix: None,
            id: id.into(),
            rest: Secret::new(rest.into()),
        })
    }
}
pub struct ParsedToken {
    pub prefix: Option<String>,
    pub id: String,
    rest: Secret,
}
impl ParsedToken {
    pub fn checksum_valid(&self) -> bool {
        false
    }
    pub fn secret_with_checksum_stripped(&self) -> Secret {
        self.rest.clone()
    }
    pub fn secret_whole(&self) -> Secret {
        self.rest.clone()
    }
}
