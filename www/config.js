// hookspool management UI settings. Edit this file where the UI is deployed;
// nothing else in www/ needs changing. See docs/ui.md.
window.HOOKSPOOL_CONFIG = {
  // Where the API is mounted on this web server (the API's base_path setting).
  apiBase: "/api",

  // OAuth2 implicit flow. Leave authorizeUrl empty to offer only API-key sign-in.
  oauth2: {
    // The provider's authorization endpoint, e.g. "https://login.example.com/oauth2/authorize".
    authorizeUrl: "",
    // The client (application) id registered with the provider for this page.
    clientId: "",
    // The API's audience, the same value as the API's jwt_audience setting.
    audience: "",
    // Space-separated scopes to ask for.
    scopes: "Webhook.Read Webhook.Write",
    // Where the provider sends the browser back; empty means this page's own URL
    // (without query or fragment). It must be registered with the provider.
    redirectUri: "",
    // The token claim that lists the tenants a user may act on (the API's
    // jwt_tenant_claim); used only to suggest tenants in the tenant box.
    tenantClaim: "tenants",
  },

  // Whether the API accepts http:// endpoints (its allow_http_endpoints setting).
  // null: the page does not guess; it sends the endpoint and shows the API's
  // answer next to the field. true or false: the form also says so before sending
  // (set it only to match the API; the API has the last word either way).
  allowHttpEndpoints: null,
};
