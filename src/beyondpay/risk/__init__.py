"""Risk: one verdict across UPI and cards — features, rules, a trained model, explained."""
