//! The account's SECURITY alternate contact (AWS Security Maturity Model phase 1;
//! Security Hub control Account.1). Adopted when it already matches.

use super::{Applied, Control, Proposal, Scope, Target};
use crate::baseline::{Baseline, Email};
use crate::error::TargetError;
use crate::error::{AwsError, aws_err};
use crate::permissions::{Arns, Grant};
use crate::plan::Action;
use aws_sdk_account::types::AlternateContactType;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub struct SecurityContact;

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

impl SecurityContactConfig {
    /// A placeholder left in.
    pub(crate) fn problem(&self) -> Option<(String, String)> {
        if !self.enabled {
            return None;
        }
        let advice = crate::baseline::PLACEHOLDER;
        if self.email.is_placeholder() {
            return Some((
                "security_contact.email".into(),
                format!("{:?} {advice}", self.email.0),
            ));
        }
        if self.phone.is_placeholder() {
            return Some((
                "security_contact.phone".into(),
                format!("{:?} {advice}", self.phone.0),
            ));
        }
        None
    }
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub name: String,
    pub title: String,
    pub email: String,
    pub phone: String,
}

impl Contact {
    fn view(&self) -> Value {
        json!({ "name": self.name, "title": self.title, "email": self.email, "phone": self.phone })
    }
}

impl Control for SecurityContact {
    const NAME: &'static str = "security_contact";
    const SCOPE: Scope = Scope::Account;
    type Desired = Contact;
    type Observed = Option<Contact>;
    type Op = Contact;

    fn permissions(_desired: &Self::Desired, _arns: &Arns) -> Vec<Grant> {
        vec![
            Grant::write("AccountSettings", &["account:PutAlternateContact"])
                .and_read(&["account:GetAlternateContact"]),
        ]
    }

    fn desired(baseline: &Baseline) -> Option<Contact> {
        let c: &SecurityContactConfig = baseline.security_contact.as_ref().filter(|c| c.enabled)?;
        Some(Contact {
            name: c.name.0.clone(),
            title: c.title.0.clone(),
            email: c.email.0.clone(),
            phone: c.phone.0.clone(),
        })
    }

    async fn observe(target: &Target, _: &Contact) -> Result<Option<Contact>, TargetError> {
        observe_with(&target.account_api())
            .await
            .map_err(TargetError::from)
    }

    fn plan(desired: &Contact, observed: &Option<Contact>, _: &str) -> Vec<Proposal<Contact>> {
        vec![plan(desired, observed)]
    }

    async fn apply(target: &Target, op: &Contact) -> Result<Applied, TargetError> {
        apply_with(&target.account_api(), op)
            .await
            .map_err(TargetError::from)
    }
}

pub async fn observe_with(client: &aws_sdk_account::Client) -> Result<Option<Contact>, AwsError> {
    match client
        .get_alternate_contact()
        .alternate_contact_type(AlternateContactType::Security)
        .send()
        .await
    {
        Ok(out) => Ok(out.alternate_contact().map(|c| Contact {
            name: c.name().unwrap_or_default().to_owned(),
            title: c.title().unwrap_or_default().to_owned(),
            email: c.email_address().unwrap_or_default().to_owned(),
            phone: c.phone_number().unwrap_or_default().to_owned(),
        })),
        // No contact of that type yet.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(aws_err("account:GetAlternateContact")(e)),
    }
}

pub fn plan(desired: &Contact, observed: &Option<Contact>) -> Proposal<Contact> {
    let address = "account.alternate_contact[\"SECURITY\"]".to_owned();
    match observed {
        Some(live) if live == desired => Proposal::new(address, Action::NoOp).before(live.view()),
        Some(live) => Proposal::new(address, Action::Update)
            .before(live.view())
            .after(desired.view())
            .op(desired.clone()),
        None => Proposal::new(address, Action::Create)
            .after(desired.view())
            .op(desired.clone()),
    }
}

pub async fn apply_with(
    client: &aws_sdk_account::Client,
    c: &Contact,
) -> Result<Applied, AwsError> {
    client
        .put_alternate_contact()
        .alternate_contact_type(AlternateContactType::Security)
        .name(&c.name)
        .title(&c.title)
        .email_address(&c.email)
        .phone_number(&c.phone)
        .send()
        .await
        .map_err(aws_err("account:PutAlternateContact"))?;
    Ok(Applied::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(email: &str) -> Contact {
        Contact {
            name: "Security team".into(),
            title: "Security".into(),
            email: email.into(),
            phone: "+81-3-1234-5678".into(),
        }
    }

    #[test]
    fn missing_is_created_different_is_updated_same_is_kept() {
        let want = contact("security@corp.test");
        assert_eq!(plan(&want, &None).action, Action::Create);
        let p = plan(&want, &Some(contact("old@corp.test")));
        assert_eq!(p.action, Action::Update);
        assert_eq!(p.before.unwrap()["email"], "old@corp.test");
        let p = plan(&want, &Some(want.clone()));
        assert_eq!((p.action, p.op), (Action::NoOp, None));
    }
}
