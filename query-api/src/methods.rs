//! Which methods each admin route takes, from the operations the API declares, for the `Allow`
//! header of a 405.

use poem_openapi::OpenApi;

/// Route templates (`/admin/users/{id}`) and the methods of each, as `Allow` lists them.
#[derive(Debug, Clone)]
pub struct Methods(Vec<(Vec<Segment>, String)>);

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Literal(String),
    Parameter,
}

fn segments(template: &str) -> Vec<Segment> {
    template
        .split('/')
        .map(|s| match s.starts_with(':') || s.starts_with('{') {
            true => Segment::Parameter,
            false => Segment::Literal(s.to_owned()),
        })
        .collect()
}

impl Methods {
    /// The methods of every operation of `A`.
    pub fn of<A: OpenApi>() -> Methods {
        let mut routes: Vec<(Vec<Segment>, Vec<String>)> = Vec::new();
        for path in A::meta().into_iter().flat_map(|api| api.paths) {
            let template = segments(&path.path);
            let methods: Vec<String> = path
                .operations
                .iter()
                .map(|o| o.method.to_string())
                .collect();
            match routes.iter_mut().find(|(t, _)| *t == template) {
                Some((_, known)) => known.extend(methods),
                None => routes.push((template, methods)),
            }
        }
        Methods(
            routes
                .into_iter()
                .map(|(template, mut methods)| {
                    methods.sort();
                    methods.dedup();
                    (template, methods.join(", "))
                })
                .collect(),
        )
    }

    /// The methods of the route `path` (percent-encoded as it came) belongs to.
    pub fn allowed(&self, path: &str) -> Option<&str> {
        let parts: Vec<&str> = path.split('/').collect();
        self.0
            .iter()
            .find(|(template, _)| {
                template.len() == parts.len()
                    && template.iter().zip(&parts).all(|(t, p)| match t {
                        Segment::Literal(l) => l == p,
                        Segment::Parameter => !p.is_empty(),
                    })
            })
            .map(|(_, methods)| methods.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Methods;

    #[test]
    fn every_route_lists_its_methods() {
        let methods = Methods::of::<crate::AdminApi>();
        assert_eq!(methods.allowed("/admin/health"), Some("GET"));
        assert_eq!(
            methods.allowed("/admin/users/web%3Aana"),
            Some("DELETE, GET")
        );
        assert_eq!(methods.allowed("/admin/users"), Some("GET"));
        assert_eq!(methods.allowed("/admin/users/"), None);
        assert_eq!(methods.allowed("/admin/nope"), None);
    }
}
