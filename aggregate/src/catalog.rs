//! The content cards the decision engine may put on screen: announcements
//! of coming events, testimonials, current deals, big news, FAQs. The host
//! writes them; the policy only names a kind, and the engine picks the card.

use serde::{Deserialize, Serialize};

use crate::AggregateError;

/// What a card is for; policy rules ask for a kind, not a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardKind {
    /// A coming event.
    Announcement,
    /// A customer's or attendee's words.
    Testimonial,
    /// A current offer.
    Deal,
    /// Big news.
    News,
    /// A frequently asked question and its answer.
    Faq,
}

/// One content card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Card {
    /// Unique within the catalog; decisions and the log name cards by it.
    pub id: String,
    /// What it is for.
    pub kind: CardKind,
    /// Heading.
    pub title: String,
    /// Text.
    pub body: String,
}

/// The host's cards, checked once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Catalog {
    cards: Vec<Card>,
}

impl Catalog {
    /// A catalog of `cards`: ids must be non-empty and unique, titles
    /// non-empty.
    pub fn new(cards: Vec<Card>) -> Result<Self, AggregateError> {
        for (i, card) in cards.iter().enumerate() {
            let reason = if card.id.trim().is_empty() {
                Some("the id is empty")
            } else if card.title.trim().is_empty() {
                Some("the title is empty")
            } else if cards[..i].iter().any(|other| other.id == card.id) {
                Some("the id is used twice")
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(AggregateError::Catalog {
                    card: card.id.clone(),
                    reason: reason.to_owned(),
                });
            }
        }
        Ok(Self { cards })
    }

    /// Every card, in the host's order.
    pub fn cards(&self) -> &[Card] {
        &self.cards
    }

    /// The card with this id.
    pub fn get(&self, id: &str) -> Option<&Card> {
        self.cards.iter().find(|card| card.id == id)
    }

    /// The card of `kind` shown least often so far (the host's order breaks
    /// ties), so a rule that fires again rotates through its cards.
    pub(crate) fn pick(&self, kind: CardKind, times_shown: impl Fn(&str) -> u64) -> Option<&Card> {
        self.cards
            .iter()
            .filter(|card| card.kind == kind)
            .min_by_key(|card| times_shown(&card.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(id: &str, kind: CardKind) -> Card {
        Card {
            id: id.to_owned(),
            kind,
            title: format!("{id} title"),
            body: String::new(),
        }
    }

    #[test]
    fn ids_must_be_unique_and_present() {
        let twice = Catalog::new(vec![card("a", CardKind::Faq), card("a", CardKind::Deal)]);
        assert_eq!(
            twice,
            Err(AggregateError::Catalog {
                card: "a".to_owned(),
                reason: "the id is used twice".to_owned()
            })
        );
        assert!(Catalog::new(vec![card(" ", CardKind::Faq)]).is_err());
        let ok = Catalog::new(vec![card("a", CardKind::Faq), card("b", CardKind::Deal)]).expect("valid");
        assert_eq!(ok.get("b").map(|c| c.kind), Some(CardKind::Deal));
    }

    #[test]
    fn picking_rotates_through_the_least_shown_card_of_the_kind() {
        let catalog = Catalog::new(vec![
            card("faq-1", CardKind::Faq),
            card("deal", CardKind::Deal),
            card("faq-2", CardKind::Faq),
        ])
        .expect("valid");
        let id = |shown: &[(&str, u64)]| {
            catalog
                .pick(CardKind::Faq, |id| {
                    shown.iter().find(|(s, _)| *s == id).map_or(0, |(_, n)| *n)
                })
                .map(|card| card.id.clone())
        };
        assert_eq!(id(&[]).as_deref(), Some("faq-1"));
        assert_eq!(id(&[("faq-1", 1)]).as_deref(), Some("faq-2"));
        assert_eq!(id(&[("faq-1", 2), ("faq-2", 1)]).as_deref(), Some("faq-2"));
        assert_eq!(catalog.pick(CardKind::News, |_| 0), None);
    }
}
