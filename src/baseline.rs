//! The TOML baseline: what the account should look like.
//!
//! Parsing is strict: unknown keys, wrong types and out-of-range values are errors that
//! name the file, the line and column, the key, and what is allowed. Nothing here talks
//! to AWS, so a bad file never causes an AWS call.

use crate::controls::access_analyzer::AccessAnalyzerConfig;
use crate::controls::cloudtrail::CloudTrailConfig;
use crate::controls::config::ConfigConfig;
use crate::controls::default_vpc::DefaultVpcConfig;
use crate::controls::detective::DetectiveConfig;
use crate::controls::ebs_encryption::EbsEncryptionConfig;
use crate::controls::guardduty::GuardDutyConfig;
use crate::controls::iam_credentials::IamCredentialsConfig;
use crate::controls::inspector::InspectorConfig;
use crate::controls::log_buckets::LogBucketsConfig;
use crate::controls::log_key::LogKeyConfig;
use crate::controls::notifications::NotificationsConfig;
use crate::controls::password_policy::PasswordPolicyConfig;
use crate::controls::s3_block_public_access::S3BlockPublicAccessConfig;
use crate::controls::security_contact::SecurityContactConfig;
use crate::controls::security_hub::SecurityHubConfig;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// A loaded, validated baseline.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// `"all"` (every region enabled in the account) or a list of region names.
    #[serde(default)]
    pub regions: Regions,
    #[serde(default)]
    pub exclude_regions: Vec<RegionName>,
    /// Where account-wide resources live; default: the configured region.
    pub home_region: Option<RegionName>,
    pub password_policy: Option<PasswordPolicyConfig>,
    pub ebs_encryption: Option<EbsEncryptionConfig>,
    pub s3_block_public_access: Option<S3BlockPublicAccessConfig>,
    pub default_vpc: Option<DefaultVpcConfig>,
    pub guardduty: Option<GuardDutyConfig>,
    pub access_analyzer: Option<AccessAnalyzerConfig>,
    pub security_hub: Option<SecurityHubConfig>,
    pub detective: Option<DetectiveConfig>,
    pub inspector: Option<InspectorConfig>,
    pub log_key: Option<LogKeyConfig>,
    pub log_buckets: Option<LogBucketsConfig>,
    pub cloudtrail: Option<CloudTrailConfig>,
    pub config: Option<ConfigConfig>,
    pub notifications: Option<NotificationsConfig>,
    pub security_contact: Option<SecurityContactConfig>,
    pub iam_credentials: Option<IamCredentialsConfig>,
    pub organization: Option<crate::organization::OrganizationConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Regions {
    #[default]
    All,
    List(Vec<RegionName>),
}

/// Domains reserved for documentation (RFC 2606): a baseline that still carries them
/// has not been filled in.
fn placeholder_domain(domain: &str) -> bool {
    let d = domain.to_ascii_lowercase();
    ["example.com", "example.org", "example.net"]
        .iter()
        .any(|p| d == *p || d.ends_with(&format!(".{p}")))
        || d.ends_with(".example")
        || d == "example"
}

/// An email address that is not a placeholder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Email(pub String);

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let well_formed = s.len() <= 254
            && !s.chars().any(|c| c.is_whitespace() || c.is_control())
            && s.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
            });
        if !well_formed {
            return Err(de::Error::custom(format!(
                "invalid email address {s:?}: expected name@domain"
            )));
        }
        Ok(Email(s))
    }
}

impl Email {
    pub fn is_placeholder(&self) -> bool {
        self.0
            .split_once('@')
            .is_some_and(|(_, d)| placeholder_domain(d))
    }
}

/// An `https://` URL that is not a placeholder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpsUrl(pub String);

impl<'de> Deserialize<'de> for HttpsUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let host = s
            .strip_prefix("https://")
            .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""))
            .unwrap_or("");
        let host_name = host.rsplit_once(':').map_or(host, |(h, _)| h);
        if host_name.is_empty()
            || host_name.contains(char::is_whitespace)
            || !host_name.contains('.')
        {
            return Err(de::Error::custom(format!(
                "invalid HTTPS endpoint {s:?}: expected https://host/path"
            )));
        }
        Ok(HttpsUrl(s))
    }
}

impl HttpsUrl {
    pub fn is_placeholder(&self) -> bool {
        let rest = self.0.trim_start_matches("https://");
        let host = rest.split(['/', '?', '#', ':']).next().unwrap_or("");
        placeholder_domain(host)
    }
}

/// `alias/<name>` of a customer key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KmsAlias(pub String);

impl<'de> Deserialize<'de> for KmsAlias {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let ok = s.strip_prefix("alias/").is_some_and(|n| {
            !n.is_empty()
                && n.len() <= 250
                && !n.starts_with("aws/")
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/_-".contains(c))
        });
        if ok {
            Ok(KmsAlias(s))
        } else {
            Err(de::Error::custom(format!(
                "invalid KMS alias {s:?}: expected \"alias/<name>\" (letters, digits, '/', '_', '-'; not alias/aws/...)"
            )))
        }
    }
}

/// A bucket name with optional `{account}` and `{region}` placeholders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BucketTemplate(pub String);

impl BucketTemplate {
    pub fn render(&self, account: &str, region: &str) -> String {
        self.0
            .replace("{account}", account)
            .replace("{region}", region)
    }
}

impl<'de> Deserialize<'de> for BucketTemplate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        // The longest account id and region name a rendering can get.
        let longest = BucketTemplate(s.clone()).render("123456789012", "ap-southeast-5x");
        let chars_ok = longest
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        let ends_ok = longest.starts_with(|c: char| c.is_ascii_alphanumeric())
            && longest.ends_with(|c: char| c.is_ascii_alphanumeric());
        if chars_ok && ends_ok && (3..=63).contains(&longest.len()) && !longest.contains("..") {
            Ok(BucketTemplate(s))
        } else {
            Err(de::Error::custom(format!(
                "invalid bucket name {s:?}: expected 3 to 63 characters once {{account}} and {{region}} are filled in, lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
            )))
        }
    }
}

/// `#[serde(default = "crate::baseline::yes")]`: a switch that is on unless said.
pub(crate) fn yes() -> bool {
    true
}

impl Baseline {
    /// Reads and validates a baseline file.
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Reads and validates a baseline file for `plan` or `apply`: also the secrets it
    /// names in environment variables (webhook URLs) must be there, before any AWS call.
    pub fn load_for_run(path: &Path) -> Result<Baseline, BaselineError> {
        let baseline = Self::load(path)?;
        if let Some((key, message)) = baseline
            .notifications
            .as_ref()
            .and_then(|n| n.missing_url())
        {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let (line, column) = key_span(&text, &key)
                .map(|s| line_col(&text, s.start))
                .unwrap_or((1, 1));
            return Err(BaselineError::Invalid {
                path: path.to_owned(),
                line,
                column,
                key,
                message,
            });
        }
        Ok(baseline)
    }

    /// Parses baseline text; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Baseline, BaselineError> {
        let at = |span: Option<std::ops::Range<usize>>, key: String, message: String| {
            let (line, column) = span.map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            BaselineError::Invalid {
                path: path.to_owned(),
                line,
                column,
                key,
                message,
            }
        };
        let de = toml::de::Deserializer::parse(text)
            .map_err(|e| at(e.span(), String::new(), e.message().to_owned()))?;
        let baseline: Baseline = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            at(
                inner.span(),
                if key == "." { String::new() } else { key },
                inner.message().to_owned(),
            )
        })?;
        if let Some((key, message)) = baseline.semantic_error() {
            return Err(at(key_span(text, &key), key, message));
        }
        Ok(baseline)
    }

    /// The log key's alias (the default when the table is left out).
    pub fn log_key_alias(&self) -> String {
        self.log_key.as_ref().map_or_else(
            || crate::controls::log_key::default_log_alias().0,
            |k| k.alias.0.clone(),
        )
    }

    /// The trail's name (the default when the table is left out).
    pub fn trail_name(&self) -> String {
        self.cloudtrail.as_ref().map_or_else(
            || crate::controls::cloudtrail::default_trail_name().0,
            |t| t.name.0.clone(),
        )
    }

    /// The first error that a single key's type cannot show: placeholders, values that
    /// must agree with each other, settings that need another setting on. Each table
    /// checks its own (`problem`, beside its type in its control's module) and names the
    /// key it is about, so the error points where the user has to edit.
    fn semantic_error(&self) -> Option<(String, String)> {
        let b = self;
        None.or_else(|| b.organization.as_ref()?.problem())
            .or_else(|| b.notifications.as_ref()?.problem())
            .or_else(|| b.security_contact.as_ref()?.problem())
            .or_else(|| b.guardduty.as_ref()?.problem())
            .or_else(|| b.log_buckets.as_ref()?.problem(b))
            .or_else(|| b.cloudtrail.as_ref()?.problem(b))
            .or_else(|| b.config.as_ref()?.problem(b))
    }

    /// The log key is enabled.
    pub(crate) fn log_key_on(&self) -> bool {
        self.log_key.as_ref().is_some_and(|k| k.enabled)
    }

    /// The log buckets are enabled.
    pub(crate) fn log_buckets_on(&self) -> bool {
        self.log_buckets.as_ref().is_some_and(|b| b.enabled)
    }
}

/// The advice after a placeholder value.
pub(crate) const PLACEHOLDER: &str =
    "is a placeholder: put real contact details, or set enabled = false";

/// Where `path` (`notifications.emails[1]`, `cloudtrail.enabled`) is written: the key
/// itself, an array element's value, or, for a key left out, its nearest written
/// ancestor (the table header). None only when nothing of the path is written.
fn key_span(text: &str, path: &str) -> Option<std::ops::Range<usize>> {
    use toml::de::{DeTable, DeValue};
    let doc = DeTable::parse(text).ok()?;
    let mut table = doc.get_ref();
    let mut found = None;
    for segment in path.split('.') {
        let (name, indexes) = match segment.find('[') {
            Some(i) => (&segment[..i], &segment[i..]),
            None => (segment, ""),
        };
        let Some((key, value)) = table.iter().find(|(k, _)| k.get_ref().as_ref() == name) else {
            return found;
        };
        found = Some(key.span());
        let mut value = value;
        for index in indexes
            .split(['[', ']'])
            .filter(|s| !s.is_empty())
            .filter_map(|s| s.parse::<usize>().ok())
        {
            match value.get_ref() {
                DeValue::Array(items) if index < items.len() => {
                    value = &items[index];
                    found = Some(value.span());
                }
                _ => return found,
            }
        }
        match value.get_ref() {
            DeValue::Table(t) => table = t,
            _ => return found,
        }
    }
    found
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot read the baseline {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: {}{message}", path.display(), if key.is_empty() { String::new() } else { format!("{key}: ") })]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        key: String,
        message: String,
    },
}

/// An integer that must lie in `MIN..=MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Bounded<const MIN: u32, const MAX: u32>(pub u32);

impl<const MIN: u32, const MAX: u32> Default for Bounded<MIN, MAX> {
    fn default() -> Self {
        Bounded(MIN)
    }
}

impl<const MIN: u32, const MAX: u32> Bounded<MIN, MAX> {
    pub fn get(self) -> u32 {
        self.0
    }
}

impl<'de, const MIN: u32, const MAX: u32> Deserialize<'de> for Bounded<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const MIN: u32, const MAX: u32>;
        impl<const MIN: u32, const MAX: u32> Visitor<'_> for V<MIN, MAX> {
            type Value = Bounded<MIN, MAX>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "an integer from {MIN} to {MAX}")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                match u32::try_from(v) {
                    Ok(n) if (MIN..=MAX).contains(&n) => Ok(Bounded(n)),
                    _ => Err(E::custom(format!(
                        "{v} is out of range: expected an integer from {MIN} to {MAX}"
                    ))),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }
        }
        d.deserialize_i64(V::<MIN, MAX>)
    }
}

/// A region name known to exist in some AWS partition.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct RegionName(pub String);

impl RegionName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RegionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Every region AWS has announced, across partitions. A name outside this list is almost
/// always a typo; refusing it is better than silently targeting nothing.
pub const KNOWN_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "cn-north-1",
    "cn-northwest-1",
    "us-gov-east-1",
    "us-gov-west-1",
    "eusc-de-east-1",
];

impl<'de> Deserialize<'de> for RegionName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if KNOWN_REGIONS.contains(&s.as_str()) {
            Ok(RegionName(s))
        } else {
            Err(de::Error::custom(format!(
                "unknown region {s:?}: expected an AWS region name such as \"us-east-1\" or \"eu-west-1\""
            )))
        }
    }
}

impl<'de> Deserialize<'de> for Regions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Regions;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"all\" or a list of region names")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Regions, E> {
                if v == "all" {
                    Ok(Regions::All)
                } else {
                    Err(E::custom(format!(
                        "invalid value {v:?}: expected \"all\" or a list of region names"
                    )))
                }
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Regions, A::Error> {
                let mut list = Vec::new();
                while let Some(r) = seq.next_element::<RegionName>()? {
                    list.push(r);
                }
                Ok(Regions::List(list))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Baseline, BaselineError> {
        Baseline::parse(text, Path::new("b.toml"))
    }

    #[test]
    fn an_empty_file_targets_all_regions_and_no_control() {
        let b = parse("").unwrap();
        assert_eq!(b.regions, Regions::All);
        assert!(b.password_policy.is_none());
    }

    #[test]
    fn unknown_keys_name_line_column_and_the_allowed_keys() {
        let err = parse("[password_policy]\nenabled = true\nminimum_lenght = 14\n").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with(
                "b.toml:3:1: password_policy.minimum_lenght: unknown field `minimum_lenght`"
            ),
            "{msg}"
        );
        assert!(msg.contains("minimum_length"), "{msg}");
    }

    #[test]
    fn out_of_range_values_say_the_range() {
        let err = parse("[password_policy]\nenabled = true\nminimum_length = 5\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "b.toml:3:18: password_policy.minimum_length: 5 is out of range: expected an integer from 6 to 128"
        );
    }

    #[test]
    fn wrong_types_say_what_was_expected() {
        let err = parse("[ebs_encryption]\nenabled = \"yes\"\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("b.toml:2:11: ebs_encryption.enabled: invalid type: string \"yes\", expected a boolean"), "{msg}");
    }

    #[test]
    fn unknown_regions_are_refused_where_they_stand() {
        let err = parse("regions = [\"us-east-1\", \"eu-wst-1\"]\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("b.toml:1:11: regions[1]: "), "{msg}");
        assert!(msg.contains("unknown region \"eu-wst-1\""), "{msg}");
        let err = parse("home_region = \"mars-1\"\n").unwrap_err();
        assert!(err.to_string().contains("unknown region \"mars-1\""));
    }

    #[test]
    fn regions_accept_all_or_a_list() {
        assert_eq!(parse("regions = \"all\"").unwrap().regions, Regions::All);
        assert_eq!(
            parse("regions = [\"eu-west-1\"]").unwrap().regions,
            Regions::List(vec![RegionName("eu-west-1".into())])
        );
        assert!(parse("regions = \"some\"").is_err());
    }

    #[test]
    fn enabled_is_required_in_each_table() {
        let err = parse("[s3_block_public_access]\n").unwrap_err();
        assert!(err.to_string().contains("missing field `enabled`"), "{err}");
    }

    #[test]
    fn kms_key_references_are_checked_for_shape() {
        assert!(parse("[ebs_encryption]\nenabled = true\nkms_key_id = \"alias/logs\"").is_ok());
        assert!(parse("[ebs_encryption]\nenabled = true\nkms_key_id = \"1234abcd-12ab-34cd-56ef-1234567890ab\"").is_ok());
        let err = parse("[ebs_encryption]\nenabled = true\nkms_key_id = \"my key\"").unwrap_err();
        assert!(err.to_string().contains("invalid KMS key"), "{err}");
    }

    #[test]
    fn default_vpc_deletion_is_off_unless_asked_for() {
        let b = parse("[default_vpc]\nenabled = true\n").unwrap();
        assert!(!b.default_vpc.unwrap().delete);
    }

    #[test]
    fn the_trail_needs_the_log_key_and_buckets_and_says_where() {
        let err = parse("regions = \"all\"\n\n[cloudtrail]\nenabled = true\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("b.toml:4:1: cloudtrail.enabled: needs [log_key] and [log_buckets]"),
            "{err}"
        );
        let err = parse("# [log_buckets] in a comment\nlog_buckets.enabled = true\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("b.toml:2:13: log_buckets.enabled: needs [log_key] enabled"),
            "{err}"
        );
        let ok = "[log_key]\nenabled = true\n[log_buckets]\nenabled = true\n[cloudtrail]\nenabled = true\n[config]\nenabled = true\n";
        assert!(parse(ok).is_ok());
    }

    #[test]
    fn semantic_errors_point_at_the_key_they_are_about() {
        let text = "[notifications]\nenabled = true\nemails = [\n  \"secops@corp.test\",\n  \"security@example.com\",\n]\n";
        let err = parse(text).unwrap_err().to_string();
        assert!(
            err.starts_with(
                "b.toml:5:3: notifications.emails[1]: \"security@example.com\" is a placeholder"
            ),
            "{err}"
        );
        let text = "[log_key]\nenabled = true\n[log_buckets]\nenabled = true\n[notifications]\nenabled = true\nemails = [\"a@corp.test\"]\n[cloudtrail]\nenabled = true\ncloudwatch_logs = true\nroot_usage_alarm = true\n";
        assert!(parse(text).is_ok());
        let err = parse(&text.replace("cloudwatch_logs = true\n", ""))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "b.toml:10:1: cloudtrail.root_usage_alarm: needs cloudwatch_logs = true"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_key_left_out_points_at_its_table() {
        assert_eq!(key_span("a = 1\n[t]\nb = 2\n", "t.c"), Some(7..8));
        assert_eq!(key_span("a = 1\n", "t.c"), None);
        assert_eq!(key_span("[t]\nl = [1, 2]\n", "t.l[1]"), Some(12..13));
    }

    #[test]
    fn log_retention_accepts_only_what_cloudwatch_logs_accepts() {
        let base = "[cloudtrail]\nenabled = false\ncloudwatch_logs_retention_days = ";
        for ok in [1, 400, 3653] {
            let b = parse(&format!("{base}{ok}\n")).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(
                b.cloudtrail.unwrap().cloudwatch_logs_retention_days.get(),
                ok
            );
        }
        for bad in [0, 2, 364, 366, 4000, -1] {
            let err = parse(&format!("{base}{bad}\n")).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("b.toml:3:34: cloudtrail.cloudwatch_logs_retention_days: {bad} days is not a retention period CloudWatch Logs accepts: expected one of 1, 3, 5, 7, 14, 30,")),
                "{err}"
            );
        }
    }

    #[test]
    fn lifecycle_expiry_must_come_after_the_transition() {
        let base = "[log_key]\nenabled = true\n[log_buckets]\nenabled = true\n";
        for (transition, expire) in [(365, 366), (0, 30), (30, 0), (0, 0)] {
            let text = format!(
                "{base}transition_to_glacier_ir_days = {transition}\nexpire_days = {expire}\n"
            );
            assert!(parse(&text).is_ok(), "{transition} {expire}");
        }
        for (transition, expire) in [(365, 365), (365, 90)] {
            let text = format!(
                "{base}transition_to_glacier_ir_days = {transition}\nexpire_days = {expire}\n"
            );
            let err = parse(&text).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("b.toml:6:1: log_buckets.expire_days: {expire} must be later than transition_to_glacier_ir_days ({transition})")),
                "{err}"
            );
        }
        // Left out, the transition defaults to 365 days.
        let err = parse(&format!("{base}expire_days = 180\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("log_buckets.expire_days: 180 must be later than transition_to_glacier_ir_days (365)"), "{err}");
    }

    #[test]
    fn bucket_names_are_checked_once_filled_in() {
        let err = parse("[log_key]\nenabled = true\n[log_buckets]\nenabled = true\ncloudtrail = \"Logs_{account}\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("log_buckets.cloudtrail: invalid bucket name"),
            "{err}"
        );
        let long = format!(
            "[log_key]\nenabled = true\n[log_buckets]\nenabled = true\nconfig = \"{}-{{account}}-{{region}}\"\n",
            "a".repeat(40)
        );
        assert!(parse(&long).is_err());
    }
}
