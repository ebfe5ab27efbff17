"""Console pages, one module per area; each page calls the domain modules of services/ and
resourcegroups/ and checks permissions with console.iam.authz."""
