from lerax_tui.cli import main

raise SystemExit(main())
