// The Lua prelude (prelude.lua, embedded at build time): the policy language and driver.

enum Prelude {
    /// The prelude's source text.
    static let source: [UInt8] = PackageResources.prelude_lua
}
