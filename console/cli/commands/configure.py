"""`eascmd config -i <AccessKeyID> -k <AccessKeySecret> [-e <endpoint>]`: save the credentials."""
from console.cli import config


def configure(args, session) -> int:
    endpoint = config.normalize_endpoint(args.endpoint) if args.endpoint else config.load_endpoint(
        session.config_path)
    config.save(session.config_path, config.Credentials(args.access_key_id, args.access_key_secret, endpoint,
                                                        args.region or ""))
    print(f"Configuration saved to: {session.config_path}")
    return 0


def register(subparsers, common) -> None:
    help_text = "Save the AccessKey (and endpoint) eascmd signs its requests with."
    parser = subparsers.add_parser("config", parents=[common], help=help_text, description=help_text)
    parser.add_argument("-i", dest="access_key_id", required=True, metavar="AccessKeyID")
    parser.add_argument("-k", dest="access_key_secret", required=True, metavar="AccessKeySecret")
    parser.add_argument("-e", dest="endpoint",
                        help=f"console endpoint: a URL or a host[:port] (default: the configured one, "
                             f"else {config.DEFAULT_ENDPOINT})")
    parser.add_argument("--region", help="region id of the endpoint (default: asked from the server)")
    parser.set_defaults(handler=configure)
