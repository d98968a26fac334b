"""The App Home: each person's own dashboard (metrics, their alerts and insights, themes).
Parts: `listeners` (app_home_opened, refresh), `blocks` (the view), `feature`."""
