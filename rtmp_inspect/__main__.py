from rtmp_inspect.cli import main

raise SystemExit(main())
