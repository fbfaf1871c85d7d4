//! The laboratory test catalogue: tests, their tubes, and common panels.
//!
//! Tube type and colour depend on the tube maker, so they belong to the lab's catalogue, which is
//! stored in the database, editable, and importable/exportable as TOML. The default shipped in
//! `assets/catalogue.toml` is a typical UK BD Vacutainer set.

use std::collections::{BTreeMap, HashSet};

/// The default catalogue, compiled in so a first run needs no files.
pub const DEFAULT_CATALOGUE_TOML: &str = include_str!("../../assets/catalogue.toml");

/// CLSI order of draw. The variant order is the draw order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum DrawClass {
    BloodCulture,
    Citrate,
    Serum,
    Heparin,
    Edta,
    Fluoride,
    Other,
}

impl DrawClass {
    pub fn label(self) -> &'static str {
        match self {
            DrawClass::BloodCulture => "blood culture",
            DrawClass::Citrate => "citrate",
            DrawClass::Serum => "serum",
            DrawClass::Heparin => "lithium heparin",
            DrawClass::Edta => "EDTA",
            DrawClass::Fluoride => "fluoride oxalate",
            DrawClass::Other => "other",
        }
    }
}

/// One orderable test.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TestDef {
    /// The catalogue code, e.g. `FBC`: uppercase letters, digits and `_`.
    pub code: String,
    pub name: String,
    /// Specimen, e.g. "Whole blood", "Serum", "Plasma".
    pub specimen: String,
    /// Tube type, e.g. "EDTA", "SST", "Citrate".
    pub tube: String,
    /// Tube cap colour as the maker names it, e.g. "lavender".
    pub tube_colour: String,
    /// The cap colour as `#RRGGBB`, for the on-screen swatch.
    pub colour_hex: String,
    /// Minimum fill volume, millilitres.
    pub volume_ml: f32,
    /// Transfusion samples must be hand-labelled at the bedside (two-sample rule applies).
    #[serde(default)]
    pub transfusion: bool,
    pub draw_order: DrawClass,
    /// Extra words to find the test by (e.g. "U&E" → "renal").
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// A named set of tests often requested together, e.g. "FBC + U&E + CRP".
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Panel {
    pub code: String,
    pub name: String,
    pub tests: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Catalogue {
    /// Who maintains this catalogue and which edition it is, shown in settings.
    pub version: String,
    #[serde(rename = "test")]
    pub tests: Vec<TestDef>,
    #[serde(rename = "panel", default)]
    pub panels: Vec<Panel>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CatalogueError {
    #[error("catalogue file is not valid TOML: {0}")]
    Syntax(String),
    #[error("catalogue has no tests")]
    Empty,
    #[error("test code '{0}' must be 1-12 uppercase letters, digits or '_'")]
    BadCode(String),
    #[error("test code '{0}' appears more than once")]
    DuplicateCode(String),
    #[error("test '{0}': {1} is empty")]
    MissingField(String, &'static str),
    #[error("test '{0}': colour '{1}' must be written #RRGGBB")]
    BadColour(String, String),
    #[error("test '{0}': volume must be between 0 and 50 ml")]
    BadVolume(String),
    #[error("panel '{0}' names test '{1}', which is not in the catalogue")]
    UnknownPanelTest(String, String),
    #[error("panel code '{0}' is empty, repeated, or the same as a test code")]
    BadPanelCode(String),
}

fn valid_code(code: &str) -> bool {
    (1..=12).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

impl Catalogue {
    /// The catalogue shipped with Stopgap.
    pub fn default_uk() -> Result<Self, CatalogueError> {
        Self::from_toml(DEFAULT_CATALOGUE_TOML)
    }

    /// Parses and checks a catalogue file.
    pub fn from_toml(text: &str) -> Result<Self, CatalogueError> {
        let cat: Catalogue =
            toml::from_str(text).map_err(|e| CatalogueError::Syntax(e.to_string()))?;
        cat.check()?;
        Ok(cat)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks every rule a usable catalogue must keep.
    pub fn check(&self) -> Result<(), CatalogueError> {
        if self.tests.is_empty() {
            return Err(CatalogueError::Empty);
        }
        let mut seen = HashSet::new();
        for t in &self.tests {
            if !valid_code(&t.code) {
                return Err(CatalogueError::BadCode(t.code.clone()));
            }
            if !seen.insert(t.code.as_str()) {
                return Err(CatalogueError::DuplicateCode(t.code.clone()));
            }
            for (value, what) in [
                (&t.name, "name"),
                (&t.specimen, "specimen"),
                (&t.tube, "tube"),
                (&t.tube_colour, "tube colour"),
            ] {
                if value.trim().is_empty() {
                    return Err(CatalogueError::MissingField(t.code.clone(), what));
                }
            }
            if parse_hex(&t.colour_hex).is_none() {
                return Err(CatalogueError::BadColour(
                    t.code.clone(),
                    t.colour_hex.clone(),
                ));
            }
            if !(t.volume_ml > 0.0 && t.volume_ml <= 50.0) {
                return Err(CatalogueError::BadVolume(t.code.clone()));
            }
        }
        for p in &self.panels {
            if !valid_code(&p.code) || !seen.insert(p.code.as_str()) {
                return Err(CatalogueError::BadPanelCode(p.code.clone()));
            }
            for code in &p.tests {
                if self.test(code).is_none() {
                    return Err(CatalogueError::UnknownPanelTest(
                        p.code.clone(),
                        code.clone(),
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn test(&self, code: &str) -> Option<&TestDef> {
        self.tests.iter().find(|t| t.code == code)
    }

    /// Tests and panels matching what the user typed: code prefix first, then words in the name
    /// or aliases. Case-insensitive; an empty query matches nothing.
    pub fn search(&self, query: &str) -> Vec<PickItem<'_>> {
        let q = query.trim().to_lowercase();
        if q.is_empty() {
            return Vec::new();
        }
        let mut scored: Vec<(u8, PickItem<'_>)> = Vec::new();
        let score = |code: &str, name: &str, aliases: &[String]| -> Option<u8> {
            let code = code.to_lowercase();
            let name = name.to_lowercase();
            if code == q {
                Some(0)
            } else if code.starts_with(&q) {
                Some(1)
            } else if name.starts_with(&q)
                || name.split([' ', '(', '+', '/']).any(|w| w.starts_with(&q))
            {
                Some(2)
            } else if aliases.iter().any(|a| a.to_lowercase().starts_with(&q)) {
                Some(3)
            } else if name.contains(&q) {
                Some(4)
            } else {
                None
            }
        };
        for p in &self.panels {
            if let Some(s) = score(&p.code, &p.name, &[]) {
                scored.push((s, PickItem::Panel(p)));
            }
        }
        for t in &self.tests {
            if let Some(s) = score(&t.code, &t.name, &t.aliases) {
                scored.push((s, PickItem::Test(t)));
            }
        }
        scored.sort_by_key(|(s, _)| *s);
        scored.into_iter().map(|(_, item)| item).collect()
    }
}

/// One result of a catalogue search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PickItem<'a> {
    Test(&'a TestDef),
    Panel(&'a Panel),
}

/// `#RRGGBB` to RGB.
pub fn parse_hex(s: &str) -> Option<[u8; 3]> {
    let h = s.strip_prefix('#')?;
    if h.len() != 6 {
        return None;
    }
    let v = u32::from_str_radix(h, 16).ok()?;
    Some([(v >> 16) as u8, (v >> 8) as u8, v as u8])
}

/// A test as requested: a copy of the catalogue entry at the time, so a later catalogue edit
/// never changes what an old request says.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RequestedTest {
    pub code: String,
    pub name: String,
    pub specimen: String,
    pub tube: String,
    pub tube_colour: String,
    pub colour_hex: String,
    pub volume_ml: f32,
    pub transfusion: bool,
    pub draw_order: DrawClass,
}

impl From<&TestDef> for RequestedTest {
    fn from(t: &TestDef) -> Self {
        Self {
            code: t.code.clone(),
            name: t.name.clone(),
            specimen: t.specimen.clone(),
            tube: t.tube.clone(),
            tube_colour: t.tube_colour.clone(),
            colour_hex: t.colour_hex.clone(),
            volume_ml: t.volume_ml,
            transfusion: t.transfusion,
            draw_order: t.draw_order,
        }
    }
}

/// The tests of a draft (catalogue codes) as catalogue entries, skipping codes not in the
/// catalogue (the form shows those as "not in catalogue" and validation refuses them).
pub fn requested_tests(catalogue: &Catalogue, codes: &[String]) -> Vec<RequestedTest> {
    codes
        .iter()
        .filter_map(|c| catalogue.test(c))
        .map(RequestedTest::from)
        .collect()
}

/// One tube to draw and the tests it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Tube {
    pub tube: String,
    pub colour: String,
    pub colour_hex: String,
    pub draw_order: DrawClass,
    /// The largest minimum volume among its tests, millilitres.
    pub volume_ml: f32,
    pub transfusion: bool,
    pub tests: Vec<String>,
}

/// The tubes to draw for a set of tests, in CLSI order of draw. Tests sharing a tube type and
/// colour share a tube, except transfusion samples, which always get their own hand-labelled tube.
pub fn tubes_in_draw_order(tests: &[RequestedTest]) -> Vec<Tube> {
    let mut tubes: BTreeMap<(DrawClass, bool, String, String), Tube> = BTreeMap::new();
    for t in tests {
        let key = (
            t.draw_order,
            t.transfusion,
            t.tube.clone(),
            t.tube_colour.clone(),
        );
        let tube = tubes.entry(key).or_insert_with(|| Tube {
            tube: t.tube.clone(),
            colour: t.tube_colour.clone(),
            colour_hex: t.colour_hex.clone(),
            draw_order: t.draw_order,
            volume_ml: 0.0,
            transfusion: t.transfusion,
            tests: Vec::new(),
        });
        tube.volume_ml = tube.volume_ml.max(t.volume_ml);
        tube.tests.push(t.code.clone());
    }
    tubes.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat() -> Catalogue {
        Catalogue::default_uk().unwrap()
    }

    fn req(codes: &[&str]) -> Vec<RequestedTest> {
        let c = cat();
        codes
            .iter()
            .map(|code| RequestedTest::from(c.test(code).unwrap()))
            .collect()
    }

    #[test]
    fn default_catalogue_is_valid_and_about_thirty_tests() {
        let c = cat();
        assert!((25..=40).contains(&c.tests.len()), "{}", c.tests.len());
        assert!(c.panels.iter().any(|p| p.tests == ["FBC", "UE", "CRP"]));
        assert!(c.test("GS").unwrap().transfusion);
        assert!(c.test("XM").unwrap().transfusion);
        assert!(!c.test("FBC").unwrap().transfusion);
    }

    #[test]
    fn default_tubes_follow_the_domain_mapping() {
        let c = cat();
        let class = |code: &str| c.test(code).unwrap().draw_order;
        assert_eq!(class("FBC"), DrawClass::Edta);
        assert_eq!(class("UE"), DrawClass::Serum);
        assert_eq!(class("TROP"), DrawClass::Serum);
        assert_eq!(class("COAG"), DrawClass::Citrate);
        assert_eq!(class("GLU"), DrawClass::Fluoride);
        assert_eq!(class("GS"), DrawClass::Edta);
        assert_eq!(c.test("GS").unwrap().tube_colour, "pink");
    }

    #[test]
    fn tubes_come_in_order_of_draw_and_share_where_they_can() {
        let tubes = tubes_in_draw_order(&req(&["GLU", "FBC", "UE", "CRP", "COAG", "GS"]));
        let order: Vec<DrawClass> = tubes.iter().map(|t| t.draw_order).collect();
        assert_eq!(
            order,
            [
                DrawClass::Citrate,
                DrawClass::Serum,
                DrawClass::Edta,
                DrawClass::Edta,
                DrawClass::Fluoride
            ]
        );
        let serum = &tubes[1];
        assert_eq!(serum.tests, ["UE", "CRP"]);
        // The group and save gets its own tube, apart from the FBC's EDTA.
        assert!(tubes.iter().any(|t| t.transfusion && t.tests == ["GS"]));
    }

    #[test]
    fn search_by_code_name_and_panel() {
        let c = cat();
        let codes = |q: &str| -> Vec<String> {
            c.search(q)
                .into_iter()
                .map(|i| match i {
                    PickItem::Test(t) => t.code.clone(),
                    PickItem::Panel(p) => p.code.clone(),
                })
                .collect()
        };
        assert_eq!(codes("fbc").first().map(String::as_str), Some("FBC"));
        assert!(codes("troponin").contains(&"TROP".to_owned()));
        assert!(codes("group").contains(&"GS".to_owned()));
        assert!(codes("").is_empty());
        assert!(codes("zzzz").is_empty());
    }

    #[test]
    fn refuses_a_broken_catalogue() {
        let mut c = cat();
        c.tests.push(c.tests[0].clone());
        assert!(matches!(c.check(), Err(CatalogueError::DuplicateCode(_))));
        let mut c = cat();
        c.panels[0].tests.push("NOPE".into());
        assert!(matches!(
            c.check(),
            Err(CatalogueError::UnknownPanelTest(_, _))
        ));
        let mut c = cat();
        c.tests[0].colour_hex = "purple".into();
        assert!(matches!(c.check(), Err(CatalogueError::BadColour(_, _))));
        assert!(matches!(
            Catalogue::from_toml("not = [toml"),
            Err(CatalogueError::Syntax(_))
        ));
    }

    #[test]
    fn toml_round_trips() {
        let c = cat();
        assert_eq!(Catalogue::from_toml(&c.to_toml()).unwrap(), c);
    }
}
