from citoyen.cli import main

main()
