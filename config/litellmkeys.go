package config

// LiteLLM's non-MCP settings, accepted so that a LiteLLM config file
// loads as is, and reported as ignored. Sources: ConfigGeneralSettings and
// ConfigYAML in litellm/proxy/_types.py, and the general_settings table
// in docs/my-website/docs/proxy/config_settings.md.

// liteLLMSections are LiteLLM's top-level sections that are not about
// MCP. (litellm_settings is read for mcp_aliases; include is reported as
// not supported, since an included file may hold mcp_servers.)
var liteLLMSections = map[string]bool{
	"model_list":            true,
	"router_settings":       true,
	"environment_variables": true,
	"callback_settings":     true,
	"guardrails":            true,
	"credential_list":       true,
	"search_tools":          true,
	"vector_store_registry": true,
	"prompts":               true,
	"files_settings":        true,
	"finetune_settings":     true,
	"assistant_settings":    true,
	"worker_registry":       true,
}

// generalLiteLLMKeys are LiteLLM's general_settings keys that are not
// about MCP.
var generalLiteLLMKeys = setOf(
	"admin_only_routes", "alert_to_webhook_url", "alert_type_config", "alert_types",
	"alerting", "alerting_args", "alerting_threshold", "allow_cli_sso_verification_uri_complete",
	"allow_client_side_credentials", "allow_requests_on_db_unavailable", "allow_user_auth",
	"allowed_ips", "allowed_routes", "always_include_stream_usage",
	"apply_user_budget_to_team_keys", "auto_redirect_ui_login_to_sso",
	"background_health_check_model_groups", "background_health_checks",
	"cancel_on_disconnect", "completion_model", "control_plane_url", "coordination_redis",
	"custom_auth", "custom_auth_run_common_checks", "custom_key_generate", "custom_sso",
	"custom_ui_sso_sign_in_handler", "database_args", "database_connect_timeout",
	"database_connection_pool_limit", "database_connection_pool_timeout",
	"database_connection_timeout", "database_disable_prepared_statements",
	"database_extra_connection_params", "database_socket_timeout", "database_type",
	"default_team_disabled", "disable_adding_master_key_hash_to_db",
	"disable_auto_add_proxy_admin_to_teams", "disable_batch_input_file_rate_limiting",
	"disable_budget_reservation", "disable_error_logs", "disable_master_key_return",
	"disable_prisma_schema_update", "disable_reset_budget", "disable_responses_id_security",
	"disable_retry_on_max_parallel_request_limit_error", "disable_spend_logs",
	"disable_spend_updates", "drain_endpoint_token", "embedding_model",
	"enable_drain_endpoint", "enable_health_check_routing", "enable_jwt_auth",
	"enable_oauth2_auth", "enable_oauth2_proxy_auth", "enable_public_model_hub",
	"enforce_rbac", "enforce_user_param", "enforced_params", "fail_closed_budget_enforcement",
	"forward_client_headers_to_llm_api", "forward_llm_provider_auth_headers",
	"forward_openai_org_id", "global_max_parallel_requests", "health_check_concurrency",
	"health_check_details", "health_check_ignore_transient_errors", "health_check_interval",
	"health_check_skip_disabled_background_models", "health_check_staleness_threshold",
	"image_generation_model", "infer_model_from_keys", "key_management_settings",
	"key_management_system", "legacy_unscoped_spend_list_endpoints", "litellm_jwtauth",
	"litellm_license", "max_batch_file_size_mb",
	"max_parallel_requests", "max_request_size_mb", "max_response_size_mb",
	"maximum_autorouter_session_retention_period", "maximum_health_check_retention_period",
	"maximum_spend_logs_cleanup_batch_size", "maximum_spend_logs_cleanup_batch_timeout",
	"maximum_spend_logs_cleanup_cron", "maximum_spend_logs_cleanup_max_batches",
	"maximum_spend_logs_cleanup_run_budget", "maximum_spend_logs_retention_interval",
	"maximum_spend_logs_retention_period", "model_list_healthy_only", "moderation_model",
	"oauth2_config_mappings", "otel", "pass_through_endpoints", "pass_through_request_timeout",
	"plugins", "provider_url_destination_allowed_hosts", "proxy_batch_polling_interval",
	"proxy_batch_write_at", "proxy_budget_rescheduler_max_time",
	"proxy_budget_rescheduler_min_time", "proxy_config_reload_interval_seconds",
	"public_routes", "reject_clientside_metadata_tags", "role_permissions",
	"scheduled_job_stagger", "scope_spend_list_endpoints_to_caller", "search_tools",
	"service_account_settings", "skip_batch_input_file_rate_limiting_for_models",
	"skip_batch_input_file_rate_limiting_for_providers", "spend_report_frequency",
	"store_prompts_in_spend_logs", "token_rate_limit_type", "trusted_proxy_ranges",
	"ui_access_mode", "use_azure_key_vault", "use_client_credentials_pass_through_routes",
	"use_google_kms", "use_redis_transaction_buffer", "use_shared_health_check",
	"use_spend_logs_partitioning", "use_x_forwarded_for", "user_api_key_cache_ttl",
	"user_header_mappings", "user_header_name", "user_url_allowed_hosts",
	"user_url_validation",
)

func setOf(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}
