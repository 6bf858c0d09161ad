from ibkr_broker.cli import main

raise SystemExit(main())
