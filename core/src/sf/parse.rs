//! The general RFC 8941 dictionary parser: `sfv`'s visitors, collecting every member and refusing
//! repeats and oversized structures.

use sfv::visitor::{DictionaryVisitor, EntryVisitor, InnerListVisitor, ItemVisitor, ParameterVisitor};
use sfv::{KeyRef, Parser, Version};

use super::{Bare, Item, MAX_ITEMS, MAX_MEMBERS, MAX_PARAMS, Member, Params, SfError};

/// Parses an RFC 8941 dictionary, rejecting repeated keys and repeated parameters.
///
/// # Errors
/// A description of the first problem; it quotes nothing from the input.
pub fn parse_dictionary(input: &str) -> Result<Vec<(&str, Member<'_>)>, String> {
    if !input.is_ascii() {
        return Err("structured field contains non-ASCII bytes".into());
    }
    Parser::new(input)
        .with_version(Version::Rfc8941)
        .parse_dictionary_with_visitor(DictCollector::default())
        .map_err(|e| format!("invalid structured field: {e}"))
}

struct DictCollector<'de> {
    entries: Vec<(&'de str, Member<'de>)>,
}

impl Default for DictCollector<'_> {
    fn default() -> Self {
        DictCollector { entries: Vec::with_capacity(2) }
    }
}

fn placeholder<'de>() -> Item<'de> {
    Item { bare: Bare::Boolean(false), params: Params::default() }
}

impl<'de> DictionaryVisitor<'de> for DictCollector<'de> {
    type Out = Vec<(&'de str, Member<'de>)>;
    type Error = SfError;

    fn entry(&mut self, key: &'de KeyRef) -> Result<impl EntryVisitor<'de>, SfError> {
        let key = key.as_str();
        // Bounds keep the repeat checks below linear in practice (they are O(n) per member).
        if self.entries.len() >= MAX_MEMBERS {
            return Err(SfError("too many dictionary members"));
        }
        if self.entries.iter().any(|(k, _)| *k == key) {
            return Err(SfError("repeated dictionary key"));
        }
        self.entries.push((key, Member::Item(placeholder())));
        match self.entries.last_mut() {
            Some((_, member)) => Ok(MemberSlot(member)),
            None => Err(SfError("internal: entry vanished")),
        }
    }

    fn finish(self) -> Result<Self::Out, SfError> {
        Ok(self.entries)
    }
}

struct MemberSlot<'a, 'de>(&'a mut Member<'de>);

impl<'a, 'de> EntryVisitor<'de> for MemberSlot<'a, 'de> {
    type Error = SfError;

    fn item(self) -> Result<impl ItemVisitor<'de>, SfError> {
        *self.0 = Member::Item(placeholder());
        match self.0 {
            Member::Item(item) => Ok(ItemSlot(item)),
            Member::InnerList(..) => Err(SfError("internal: member kind")),
        }
    }

    fn inner_list(self) -> Result<impl InnerListVisitor<'de>, SfError> {
        *self.0 = Member::InnerList(Vec::with_capacity(8), Params(Vec::with_capacity(4)));
        match self.0 {
            Member::InnerList(items, params) => Ok(ListSlot { items, params }),
            Member::Item(_) => Err(SfError("internal: member kind")),
        }
    }
}

struct ItemSlot<'a, 'de>(&'a mut Item<'de>);

impl<'a, 'de> ItemVisitor<'de> for ItemSlot<'a, 'de> {
    type Out = ();
    type Error = SfError;

    fn bare_item(self, bare: Bare<'de>) -> Result<impl ParameterVisitor<'de, Out = ()>, SfError> {
        self.0.bare = bare;
        Ok(ParamSlot(&mut self.0.params))
    }
}

struct ListSlot<'a, 'de> {
    items: &'a mut Vec<Item<'de>>,
    params: &'a mut Params<'de>,
}

impl<'a, 'de> InnerListVisitor<'de> for ListSlot<'a, 'de> {
    type Error = SfError;

    fn item(&mut self) -> Result<impl ItemVisitor<'de>, SfError> {
        if self.items.len() >= MAX_ITEMS {
            return Err(SfError("too many inner-list items"));
        }
        self.items.push(placeholder());
        match self.items.last_mut() {
            Some(item) => Ok(ItemSlot(item)),
            None => Err(SfError("internal: item vanished")),
        }
    }

    fn finish(self) -> Result<impl ParameterVisitor<'de>, SfError> {
        Ok(ParamSlot(self.params))
    }
}

struct ParamSlot<'a, 'de>(&'a mut Params<'de>);

impl<'a, 'de> ParameterVisitor<'de> for ParamSlot<'a, 'de> {
    type Out = ();
    type Error = SfError;

    fn parameter(&mut self, key: &'de KeyRef, value: Bare<'de>) -> Result<(), SfError> {
        let key = key.as_str();
        if self.0.0.len() >= MAX_PARAMS {
            return Err(SfError("too many parameters"));
        }
        if self.0.0.iter().any(|(k, _)| *k == key) {
            return Err(SfError("repeated parameter"));
        }
        self.0.0.push((key, value));
        Ok(())
    }

    fn finish(self) -> Result<(), SfError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sf::{as_int, write_inner_list};

    #[test]
    fn parses_signature_input_shape() {
        let d = parse_dictionary(r#"sig1=("@method" "@path";x);created=1;keyid="k", sig2=:AAA=:"#).unwrap();
        assert_eq!(d.len(), 2);
        let Member::InnerList(items, params) = &d[0].1 else { panic!("inner list") };
        assert_eq!(items.len(), 2);
        assert_eq!(as_int(params.get("created").unwrap()), Some(1));
        let mut s = String::new();
        write_inner_list(&mut s, items, params);
        assert_eq!(s, r#"("@method" "@path";x);created=1;keyid="k""#);
    }

    #[test]
    fn rejects_repeats_and_non_ascii() {
        assert!(parse_dictionary("a=1, a=2").is_err());
        assert!(parse_dictionary("a=1;p;p").is_err());
        assert!(parse_dictionary("a=(1 2);p=1;p=2").is_err());
        assert!(parse_dictionary("a=\"é\"").is_err());
        assert!(parse_dictionary("a=:not base64!:").is_err());
        assert!(parse_dictionary("a=1,").is_err());
        assert!(parse_dictionary("A=1").is_err());
    }

    #[test]
    fn member_and_parameter_counts_are_bounded() {
        let many: Vec<String> = (0..=MAX_MEMBERS).map(|i| format!("k{i}=1")).collect();
        assert!(parse_dictionary(&many[..MAX_MEMBERS].join(", ")).is_ok());
        assert!(parse_dictionary(&many.join(", ")).is_err());
        let params: String = (0..=MAX_PARAMS).map(|i| format!(";p{i}")).collect();
        assert!(parse_dictionary(&format!("a=1{params}")).is_err());
        let items: Vec<String> = (0..=MAX_ITEMS).map(|i| i.to_string()).collect();
        assert!(parse_dictionary(&format!("a=({})", items.join(" "))).is_err());
    }

    #[test]
    fn canonical_form_normalizes_whitespace() {
        let d = parse_dictionary(r#"s=("a"   "b");  created=5; alg="hmac-sha256""#).unwrap();
        let Member::InnerList(items, params) = &d[0].1 else { panic!("inner list") };
        let mut s = String::new();
        write_inner_list(&mut s, items, params);
        assert_eq!(s, r#"("a" "b");created=5;alg="hmac-sha256""#);
    }
}
