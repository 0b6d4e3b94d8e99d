from wagewatch.cli import main

main()
