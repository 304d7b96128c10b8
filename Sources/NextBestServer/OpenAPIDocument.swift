// The OpenAPI 3 document of the decision service, served at /openapi.yaml.

/// The service's OpenAPI document (`Sources/NextBestServer/openapi.yaml`), embedded in the binary.
public enum OpenAPIDocument {
    /// The document's bytes, as committed.
    public static var bytes: [UInt8] { PackageResources.openapi_yaml }
}
