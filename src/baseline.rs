//! The TOML baseline: what the account should look like.
//!
//! Parsing is strict: unknown keys, wrong types and out-of-range values are errors that
//! name the file, the line and column, the key, and what is allowed. Nothing here talks
//! to AWS, so a bad file never causes an AWS call.

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
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Regions {
    #[default]
    All,
    List(Vec<RegionName>),
}

/// The IAM account password policy. A field left out keeps its live value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordPolicyConfig {
    pub enabled: bool,
    pub minimum_length: Option<Bounded<6, 128>>,
    pub require_uppercase: Option<bool>,
    pub require_lowercase: Option<bool>,
    pub require_numbers: Option<bool>,
    pub require_symbols: Option<bool>,
    pub reuse_prevention: Option<Bounded<1, 24>>,
    pub max_age_days: Option<Bounded<1, 1095>>,
    pub allow_users_to_change: Option<bool>,
    pub hard_expiry: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EbsEncryptionConfig {
    pub enabled: bool,
    /// A key id, key ARN, alias name (`alias/x`) or alias ARN; default: the AWS-managed key.
    pub kms_key_id: Option<KmsKeyRef>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct S3BlockPublicAccessConfig {
    pub enabled: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultVpcConfig {
    pub enabled: bool,
    /// Delete unused default VPCs. Default false: only report them.
    #[serde(default)]
    pub delete: bool,
}

/// IAM Access Analyzer in every target region.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AccessAnalyzerConfig {
    pub enabled: bool,
    /// The name of the external-access analyzer we create; any active one is adopted.
    #[serde(default = "default_analyzer_name")]
    pub name: AnalyzerName,
    /// Also an unused-access analyzer (paid).
    #[serde(default)]
    pub unused_access: bool,
}

fn default_analyzer_name() -> AnalyzerName {
    AnalyzerName("baseline-external-access".into())
}

/// An analyzer name as Access Analyzer accepts it: 1–255 characters, starting with a
/// letter, then letters, digits, `.`, `_` and `-`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct AnalyzerName(pub String);

impl<'de> Deserialize<'de> for AnalyzerName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let ok = (1..=230).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if ok {
            Ok(AnalyzerName(s))
        } else {
            Err(de::Error::custom(format!(
                "invalid analyzer name {s:?}: expected 1 to 230 characters, a letter first, then letters, digits, '.', '_' or '-'"
            )))
        }
    }
}

/// Alert notifications: an encrypted SNS topic and EventBridge rules for findings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationsConfig {
    pub enabled: bool,
    #[serde(default = "default_topic")]
    pub topic: TopicName,
    #[serde(default)]
    pub emails: Vec<Email>,
    pub https_endpoint: Option<HttpsUrl>,
    /// GuardDuty findings at or above this severity (1 to 8.9; 4 is medium).
    #[serde(default = "default_min_severity")]
    pub guardduty_min_severity: Bounded<1, 8>,
    #[serde(default = "default_hub_severities")]
    pub security_hub_severities: Vec<SeverityLabel>,
    #[serde(default = "yes")]
    pub access_analyzer: bool,
}

fn default_topic() -> TopicName {
    TopicName("baseline-security-alerts".into())
}
fn default_min_severity() -> Bounded<1, 8> {
    Bounded(4)
}
fn default_hub_severities() -> Vec<SeverityLabel> {
    vec![SeverityLabel::High, SeverityLabel::Critical]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SeverityLabel {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl SeverityLabel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Informational => "INFORMATIONAL",
            Self::Low => "LOW",
            Self::Medium => "MEDIUM",
            Self::High => "HIGH",
            Self::Critical => "CRITICAL",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicName(pub String);

impl<'de> Deserialize<'de> for TopicName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if (1..=256).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
        {
            Ok(TopicName(s))
        } else {
            Err(de::Error::custom(format!(
                "invalid topic name {s:?}: expected 1 to 256 letters, digits, '-' or '_'"
            )))
        }
    }
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

/// The account's SECURITY alternate contact.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityContactConfig {
    pub enabled: bool,
    pub name: ContactText<64>,
    pub title: ContactText<50>,
    pub email: Email,
    pub phone: Phone,
}

/// 1 to N characters of text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactText<const N: usize>(pub String);

impl<'de, const N: usize> Deserialize<'de> for ContactText<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.trim().is_empty() || s.chars().count() > N {
            Err(de::Error::custom(format!(
                "expected 1 to {N} characters, got {}",
                s.chars().count()
            )))
        } else {
            Ok(ContactText(s))
        }
    }
}

/// A phone number: `+`, country code, digits, with optional spaces or dashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Phone(pub String);

impl<'de> Deserialize<'de> for Phone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let digits: String = s.chars().filter(char::is_ascii_digit).collect();
        let ok = s.starts_with('+')
            && s.len() <= 25
            && s[1..]
                .chars()
                .all(|c| c.is_ascii_digit() || c == '-' || c == ' ')
            && (7..=15).contains(&digits.len());
        if !ok {
            return Err(de::Error::custom(format!(
                "invalid phone number {s:?}: expected +<country code><number>, digits with optional '-' or spaces"
            )));
        }
        Ok(Phone(s))
    }
}

impl Phone {
    /// A number whose last eight digits are zeros has not been filled in.
    pub fn is_placeholder(&self) -> bool {
        let digits: Vec<char> = self.0.chars().filter(char::is_ascii_digit).collect();
        digits.len() >= 8 && digits[digits.len() - 8..].iter().all(|c| *c == '0')
    }
}

/// The KMS key that encrypts the audit logs, in the home region.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogKeyConfig {
    pub enabled: bool,
    #[serde(default = "default_log_alias")]
    pub alias: KmsAlias,
}

fn default_log_alias() -> KmsAlias {
    KmsAlias("alias/baseline-logs".into())
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

/// The S3 buckets the trail and AWS Config deliver to, in the home region.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogBucketsConfig {
    pub enabled: bool,
    #[serde(default = "default_trail_bucket")]
    pub cloudtrail: BucketTemplate,
    #[serde(default = "default_config_bucket")]
    pub config: BucketTemplate,
    /// Days before objects move to Glacier Instant Retrieval; 0: never.
    #[serde(default = "default_glacier_days")]
    pub transition_to_glacier_ir_days: Bounded<0, 36500>,
    /// Days before objects expire; 0: never.
    #[serde(default)]
    pub expire_days: Bounded<0, 36500>,
    /// Server access logging of the log buckets to a separate bucket.
    #[serde(default)]
    pub access_logging: bool,
    #[serde(default = "default_access_log_bucket")]
    pub access_log_bucket: BucketTemplate,
}

fn default_trail_bucket() -> BucketTemplate {
    BucketTemplate("baseline-cloudtrail-{account}-{region}".into())
}
fn default_config_bucket() -> BucketTemplate {
    BucketTemplate("baseline-config-{account}-{region}".into())
}
fn default_access_log_bucket() -> BucketTemplate {
    BucketTemplate("baseline-access-logs-{account}-{region}".into())
}
fn default_glacier_days() -> Bounded<0, 36500> {
    Bounded(365)
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

/// One multi-region CloudTrail trail, in the home region.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CloudTrailConfig {
    pub enabled: bool,
    #[serde(default = "default_trail_name")]
    pub name: TrailName,
    /// Also deliver to a CloudWatch Logs group (through a role of ours).
    #[serde(default)]
    pub cloudwatch_logs: bool,
    #[serde(default = "default_retention")]
    pub cloudwatch_logs_retention_days: RetentionDays,
    /// The CIS root-account-usage metric filter and alarm (needs `cloudwatch_logs` and
    /// `[notifications]`).
    #[serde(default)]
    pub root_usage_alarm: bool,
}

fn default_trail_name() -> TrailName {
    TrailName("baseline-trail".into())
}
fn default_retention() -> RetentionDays {
    RetentionDays(365)
}

/// A CloudWatch Logs retention period: only the day counts `PutRetentionPolicy` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetentionDays(pub u32);

impl RetentionDays {
    /// The values CloudWatch Logs accepts (PutRetentionPolicy, `retentionInDays`); any
    /// other is refused with `InvalidParameterException`.
    pub const ALLOWED: [u32; 22] = [
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
        2922, 3288, 3653,
    ];

    pub fn get(self) -> u32 {
        self.0
    }
}

impl<'de> Deserialize<'de> for RetentionDays {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        match u32::try_from(v) {
            Ok(days) if Self::ALLOWED.contains(&days) => Ok(RetentionDays(days)),
            _ => {
                let allowed = Self::ALLOWED.map(|d| d.to_string()).join(", ");
                Err(de::Error::custom(format!(
                    "{v} days is not a retention period CloudWatch Logs accepts: expected one of {allowed}"
                )))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrailName(pub String);

impl<'de> Deserialize<'de> for TrailName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let ok = (3..=128).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.ends_with(|c: char| c.is_ascii_alphanumeric())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if ok {
            Ok(TrailName(s))
        } else {
            Err(de::Error::custom(format!(
                "invalid trail name {s:?}: expected 3 to 128 letters, digits, '.', '_' or '-', starting and ending with a letter or digit"
            )))
        }
    }
}

/// AWS Config in every target region.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigConfig {
    pub enabled: bool,
    /// How often snapshots are delivered; a more frequent live value is kept.
    #[serde(default = "default_delivery")]
    pub delivery_frequency: DeliveryFrequency,
}

fn default_delivery() -> DeliveryFrequency {
    DeliveryFrequency::TwentyFourHours
}

/// From the most to the least frequent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
pub enum DeliveryFrequency {
    #[serde(rename = "One_Hour")]
    OneHour,
    #[serde(rename = "Three_Hours")]
    ThreeHours,
    #[serde(rename = "Six_Hours")]
    SixHours,
    #[serde(rename = "Twelve_Hours")]
    TwelveHours,
    #[serde(rename = "TwentyFour_Hours")]
    TwentyFourHours,
}

impl DeliveryFrequency {
    pub const ALL: [DeliveryFrequency; 5] = [
        Self::OneHour,
        Self::ThreeHours,
        Self::SixHours,
        Self::TwelveHours,
        Self::TwentyFourHours,
    ];
    pub fn as_api(self) -> &'static str {
        match self {
            Self::OneHour => "One_Hour",
            Self::ThreeHours => "Three_Hours",
            Self::SixHours => "Six_Hours",
            Self::TwelveHours => "Twelve_Hours",
            Self::TwentyFourHours => "TwentyFour_Hours",
        }
    }
    pub fn from_api(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_api() == s)
    }
}

/// Security Hub in every target region, with the listed standards.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityHubConfig {
    pub enabled: bool,
    /// Short names; each is enabled. Others already enabled are reported and left alone,
    /// unless `disable_unlisted_standards`.
    #[serde(default = "default_standards")]
    pub standards: Vec<StandardName>,
    #[serde(default)]
    pub disable_unlisted_standards: bool,
    /// Controls AWS adds to an enabled standard are enabled too. `false`: left as it is.
    #[serde(default = "yes")]
    pub auto_enable_controls: bool,
    /// One finding per control across standards. `false`: left as it is.
    #[serde(default = "yes")]
    pub consolidated_control_findings: bool,
}

fn default_standards() -> Vec<StandardName> {
    vec![StandardName::Fsbp, StandardName::Cis]
}

fn yes() -> bool {
    true
}

/// A Security Hub standard by short name; the newest version the API offers is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
pub enum StandardName {
    #[serde(rename = "fsbp")]
    Fsbp,
    #[serde(rename = "cis")]
    Cis,
    #[serde(rename = "nist-800-53")]
    Nist80053,
    #[serde(rename = "pci-dss")]
    PciDss,
}

impl StandardName {
    pub const ALL: [StandardName; 4] = [Self::Fsbp, Self::Cis, Self::Nist80053, Self::PciDss];

    pub fn as_str(self) -> &'static str {
        match self {
            StandardName::Fsbp => "fsbp",
            StandardName::Cis => "cis",
            StandardName::Nist80053 => "nist-800-53",
            StandardName::PciDss => "pci-dss",
        }
    }

    /// The name of the standard in its ARN: `…:standards/<slug>/v/<version>` (CIS 1.2.0
    /// is the older form `…:ruleset/<slug>/v/1.2.0`).
    pub fn slug(self) -> &'static str {
        match self {
            StandardName::Fsbp => "aws-foundational-security-best-practices",
            StandardName::Cis => "cis-aws-foundations-benchmark",
            StandardName::Nist80053 => "nist-800-53",
            StandardName::PciDss => "pci-dss",
        }
    }
}

/// Amazon Detective: a behaviour graph in every target region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DetectiveConfig {
    pub enabled: bool,
}

/// Amazon Inspector scanning; each resource type its own toggle. `false` never disables
/// scanning that is on (it is left as it is).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InspectorConfig {
    pub enabled: bool,
    #[serde(default = "yes")]
    pub ec2: bool,
    #[serde(default = "yes")]
    pub ecr: bool,
    #[serde(default = "yes")]
    pub lambda: bool,
}

/// GuardDuty in every target region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GuardDutyConfig {
    pub enabled: bool,
    /// Left out: a new detector gets SIX_HOURS and an existing one keeps its own.
    pub finding_publishing_frequency: Option<FindingFrequency>,
    #[serde(default)]
    pub features: GuardDutyFeatures,
    /// Protection plans to turn off where they are on: the only way to turn one off
    /// (a feature `false` or left out keeps the live state). Shown in the plan as removals.
    #[serde(default)]
    pub disable: Vec<GuardDutyFeature>,
    /// Agent management sent with RUNTIME_MONITORING when it is turned on (without it,
    /// Runtime Monitoring covers nothing). Each `true` by default.
    #[serde(default)]
    pub runtime_monitoring_agents: RuntimeMonitoringAgents,
}

/// A GuardDuty protection plan, as named in `[guardduty.features]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardDutyFeature {
    S3DataEvents,
    EksAuditLogs,
    EbsMalwareProtection,
    RdsLoginEvents,
    LambdaNetworkLogs,
    RuntimeMonitoring,
}

impl GuardDutyFeature {
    pub fn api_name(self) -> &'static str {
        match self {
            GuardDutyFeature::S3DataEvents => "S3_DATA_EVENTS",
            GuardDutyFeature::EksAuditLogs => "EKS_AUDIT_LOGS",
            GuardDutyFeature::EbsMalwareProtection => "EBS_MALWARE_PROTECTION",
            GuardDutyFeature::RdsLoginEvents => "RDS_LOGIN_EVENTS",
            GuardDutyFeature::LambdaNetworkLogs => "LAMBDA_NETWORK_LOGS",
            GuardDutyFeature::RuntimeMonitoring => "RUNTIME_MONITORING",
        }
    }
}

/// RUNTIME_MONITORING's additional configuration: which agents GuardDuty manages.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeMonitoringAgents {
    #[serde(default = "yes")]
    pub eks_addon_management: bool,
    #[serde(default = "yes")]
    pub ecs_fargate_agent_management: bool,
    #[serde(default = "yes")]
    pub ec2_agent_management: bool,
}

impl Default for RuntimeMonitoringAgents {
    fn default() -> Self {
        RuntimeMonitoringAgents {
            eks_addon_management: true,
            ecs_fargate_agent_management: true,
            ec2_agent_management: true,
        }
    }
}

impl RuntimeMonitoringAgents {
    /// The additional-configuration names to turn on.
    pub fn wanted(&self) -> Vec<&'static str> {
        [
            ("EKS_ADDON_MANAGEMENT", self.eks_addon_management),
            (
                "ECS_FARGATE_AGENT_MANAGEMENT",
                self.ecs_fargate_agent_management,
            ),
            ("EC2_AGENT_MANAGEMENT", self.ec2_agent_management),
        ]
        .into_iter()
        .filter_map(|(n, on)| on.then_some(n))
        .collect()
    }
}

/// How often GuardDuty publishes updated findings; a more frequent live value is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FindingFrequency {
    FifteenMinutes,
    OneHour,
    SixHours,
}

impl FindingFrequency {
    pub fn as_api(self) -> &'static str {
        match self {
            FindingFrequency::FifteenMinutes => "FIFTEEN_MINUTES",
            FindingFrequency::OneHour => "ONE_HOUR",
            FindingFrequency::SixHours => "SIX_HOURS",
        }
    }

    pub fn from_api(s: &str) -> Option<Self> {
        [Self::FifteenMinutes, Self::OneHour, Self::SixHours]
            .into_iter()
            .find(|f| f.as_api() == s)
    }
}

/// GuardDuty protection plans: `true` turns one on; `false` or left out means "not
/// required" and keeps the live state (turning one off is `[guardduty] disable`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GuardDutyFeatures {
    pub s3_data_events: Option<bool>,
    pub eks_audit_logs: Option<bool>,
    pub ebs_malware_protection: Option<bool>,
    pub rds_login_events: Option<bool>,
    pub lambda_network_logs: Option<bool>,
    pub runtime_monitoring: Option<bool>,
}

impl GuardDutyFeatures {
    /// Each feature's GuardDuty API name and the baseline's wish.
    pub fn by_api_name(&self) -> [(&'static str, Option<bool>); 6] {
        [
            ("S3_DATA_EVENTS", self.s3_data_events),
            ("EKS_AUDIT_LOGS", self.eks_audit_logs),
            ("EBS_MALWARE_PROTECTION", self.ebs_malware_protection),
            ("RDS_LOGIN_EVENTS", self.rds_login_events),
            ("LAMBDA_NETWORK_LOGS", self.lambda_network_logs),
            ("RUNTIME_MONITORING", self.runtime_monitoring),
        ]
    }
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
        self.log_key
            .as_ref()
            .map_or_else(|| default_log_alias().0, |k| k.alias.0.clone())
    }

    /// The trail's name (the default when the table is left out).
    pub fn trail_name(&self) -> String {
        self.cloudtrail
            .as_ref()
            .map_or_else(|| default_trail_name().0, |t| t.name.0.clone())
    }

    /// The first error that a single key's type cannot show: placeholders, values that
    /// must agree with each other, settings that need another setting on. Each names the
    /// key it is about, so the error points where the user has to edit.
    fn semantic_error(&self) -> Option<(String, String)> {
        self.placeholder_error()
            .or_else(|| self.value_error())
            .or_else(|| self.requirement_error())
    }

    /// An enabled table that still carries the shipped placeholder values.
    fn placeholder_error(&self) -> Option<(String, String)> {
        let advice = "is a placeholder: put real contact details, or set enabled = false";
        if let Some(n) = self.notifications.as_ref().filter(|n| n.enabled) {
            if let Some((i, e)) = n
                .emails
                .iter()
                .enumerate()
                .find(|(_, e)| e.is_placeholder())
            {
                return Some((
                    format!("notifications.emails[{i}]"),
                    format!("{:?} {advice}", e.0),
                ));
            }
            if let Some(u) = n.https_endpoint.as_ref().filter(|u| u.is_placeholder()) {
                return Some((
                    "notifications.https_endpoint".into(),
                    format!("{:?} {advice}", u.0),
                ));
            }
        }
        if let Some(c) = self.security_contact.as_ref().filter(|c| c.enabled) {
            if c.email.is_placeholder() {
                return Some((
                    "security_contact.email".into(),
                    format!("{:?} {advice}", c.email.0),
                ));
            }
            if c.phone.is_placeholder() {
                return Some((
                    "security_contact.phone".into(),
                    format!("{:?} {advice}", c.phone.0),
                ));
            }
        }
        None
    }

    /// Values that are each valid but that AWS refuses together.
    fn value_error(&self) -> Option<(String, String)> {
        if let Some(g) = self.guardduty.as_ref().filter(|g| g.enabled) {
            let on = g.features.by_api_name();
            if let Some((i, f)) = g.disable.iter().enumerate().find(|(_, f)| {
                on.iter()
                    .any(|(name, want)| *name == f.api_name() && *want == Some(true))
            }) {
                return Some((
                    format!("guardduty.disable[{i}]"),
                    format!(
                        "{} is both required (guardduty.features) and listed to disable: keep one",
                        f.api_name()
                    ),
                ));
            }
        }
        let b = self.log_buckets.as_ref().filter(|b| b.enabled)?;
        let (transition, expire) = (b.transition_to_glacier_ir_days.get(), b.expire_days.get());
        // S3 PutBucketLifecycleConfiguration: the expiration's Days must be greater than
        // the transition's Days in the same rule (InvalidArgument otherwise).
        (transition > 0 && expire > 0 && expire <= transition).then(|| {
            (
                "log_buckets.expire_days".into(),
                format!(
                    "{expire} must be later than transition_to_glacier_ir_days ({transition}): S3 refuses a lifecycle rule that expires objects before or when they move to Glacier; set expire_days above {transition}, or 0 (never)"
                ),
            )
        })
    }

    fn requirement_error(&self) -> Option<(String, String)> {
        let key_on = self.log_key.as_ref().is_some_and(|k| k.enabled);
        let buckets_on = self.log_buckets.as_ref().is_some_and(|b| b.enabled);
        let err = |key: &str, message: &str| Some((key.to_owned(), message.to_owned()));
        if let Some(t) = self.cloudtrail.as_ref().filter(|t| t.enabled) {
            if !key_on || !buckets_on {
                return err(
                    "cloudtrail.enabled",
                    "needs [log_key] and [log_buckets] enabled: the trail is encrypted with the log key and delivers to the log bucket",
                );
            }
            if t.root_usage_alarm && !t.cloudwatch_logs {
                return err(
                    "cloudtrail.root_usage_alarm",
                    "needs cloudwatch_logs = true: the alarm reads the trail's log group",
                );
            }
            if t.root_usage_alarm && !self.notifications.as_ref().is_some_and(|n| n.enabled) {
                return err(
                    "cloudtrail.root_usage_alarm",
                    "needs [notifications] enabled: the alarm notifies its topic",
                );
            }
        }
        if self.config.as_ref().is_some_and(|c| c.enabled) && (!key_on || !buckets_on) {
            return err(
                "config.enabled",
                "needs [log_key] and [log_buckets] enabled: AWS Config delivers to the log bucket, encrypted with the log key",
            );
        }
        if let Some(n) = self.notifications.as_ref().filter(|n| n.enabled)
            && n.emails.is_empty()
            && n.https_endpoint.is_none()
        {
            return err(
                "notifications.enabled",
                "lists no emails and no https_endpoint: nobody would hear of a finding",
            );
        }
        if buckets_on && !key_on {
            return err(
                "log_buckets.enabled",
                "needs [log_key] enabled: the log buckets are encrypted with it",
            );
        }
        None
    }
}

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
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
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
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
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

/// A reference to a KMS key, checked for shape (not existence) when the file is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct KmsKeyRef(pub String);

impl<'de> Deserialize<'de> for KmsKeyRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let is_alias = s
            .strip_prefix("alias/")
            .is_some_and(|n| !n.is_empty() && !n.starts_with("aws/"));
        let is_arn = s.starts_with("arn:") && (s.contains(":key/") || s.contains(":alias/"));
        let is_id = s.len() == 36 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
        let is_mrk = s.starts_with("mrk-") && s.len() > 4;
        if is_alias || is_arn || is_id || is_mrk {
            Ok(KmsKeyRef(s))
        } else {
            Err(de::Error::custom(format!(
                "invalid KMS key {s:?}: expected a key id, a key ARN, \"alias/<name>\" of a customer key, or an alias ARN (leave it out for the AWS-managed key)"
            )))
        }
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
