from jira_sync.cli import main

main()
