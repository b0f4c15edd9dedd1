//! `cargo xtask new-adapter NAME`: writes `adapters/NAME` (crate `nexus-adapter-NAME`: a skeleton
//! adapter that compiles, registers itself and handles one made-up payload) with a first recorded
//! case, then runs codegen so the facade links it: it shows up in `nexus adapters` and in the
//! conformance run, whose report tells the author what is still missing.

use crate::util::{cargo, root};

const CARGO_TOML: &str = include_str!("templates/Cargo.toml.tmpl");
const LIB_RS: &str = include_str!("templates/lib.rs.tmpl");
const CASE_JSON: &str = include_str!("templates/case.json.tmpl");

/// Runs the task.
pub fn run(args: &[String]) -> Result<(), String> {
    let [name] = args else {
        return Err(
            "usage: cargo xtask new-adapter NAME (lowercase letters, digits, `_`)".to_owned(),
        );
    };
    let id = name.as_str();
    let valid = id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(format!(
            "adapter name {id:?}: use lowercase ASCII letters, digits and `_`, starting with a letter \
             (it is the provider id and a URL path segment)"
        ));
    }
    let dir = root().join("adapters").join(id);
    if dir.exists() {
        return Err(format!("{} already exists", dir.display()));
    }
    let display = display_name(id);
    let type_name: String = display.split(' ').collect();
    let fill = |t: &str| {
        t.replace("{{id}}", id)
            .replace("{{Name}}", &display)
            .replace("{{Type}}", &type_name)
    };
    let files = [
        ("Cargo.toml", fill(CARGO_TOML)),
        ("src/lib.rs", fill(LIB_RS)),
        ("cases/profile-pushed.json", fill(CASE_JSON)),
    ];
    for (rel, text) in &files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("new-adapter: wrote adapters/{id}/{rel}");
    }
    // The templates are formatted for a short name; rustfmt settles the rest.
    crate::util::status(cargo().args(["fmt", "-p", &format!("nexus-adapter-{id}")]))?;
    crate::codegen::run(&[])?;
    println!(
        "\nnew-adapter: adapters/{id} is linked (crates/nexus-adapters) and listed in docs/adapters.md.\n\
         Next:\n  \
         cargo run -- adapters                          # it is registered\n  \
         cargo xtask conformance --adapter {id}           # what passes, what is missing\n  \
         cargo xtask conformance --adapter {id} --accept  # write the first snapshot, then review it\n\
         and read docs/adapter-guide.md."
    );
    Ok(())
}

/// `acme_health` -> `Acme Health`.
fn display_name(id: &str) -> String {
    id.split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_title_case() {
        assert_eq!(display_name("acme"), "Acme");
        assert_eq!(display_name("acme_health"), "Acme Health");
    }
}
