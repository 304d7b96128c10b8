// The Lua prelude: its modules (Prelude/*.lua, embedded at build time) in the order the bridge loads them.

enum Prelude {
    /// The modules, in load order: each may use the ones before it; `api` holds the host's entry points.
    static let modules: [(name: String, source: [UInt8])] = [
        ("values", PackageResources.values_lua),
        ("time", PackageResources.time_lua),
        ("helpers", PackageResources.helpers_lua),
        ("errors", PackageResources.errors_lua),
        ("bounds", PackageResources.bounds_lua),
        ("strict", PackageResources.strict_lua),
        ("sandbox", PackageResources.sandbox_lua),
        ("language", PackageResources.language_lua),
        ("schema", PackageResources.schema_lua),
        ("lint", PackageResources.lint_lua),
        ("contacts", PackageResources.contacts_lua),
        ("levers", PackageResources.levers_lua),
        ("arbitration", PackageResources.arbitration_lua),
        ("pipeline", PackageResources.pipeline_lua),
        ("stats", PackageResources.stats_lua),
        ("explain", PackageResources.explain_lua),
        ("testing", PackageResources.testing_lua),
        ("api", PackageResources.api_lua),
    ]
}
