package configfile

// LiteLLM's non-MCP settings, accepted so that a LiteLLM config file
// loads as is, and reported as ignored. Sources: ConfigGeneralSettings and
// ConfigYAML in litellm/proxy/_types.py (checked against LiteLLM 1.108.7:
// testdata/litellm-1.108.7-general-settings.txt), the keys its code reads
// with general_settings.get, and the general_settings table in
// docs/my-website/docs/proxy/config_settings.md.

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
	// Added in LiteLLM 1.108.7's ConfigGeneralSettings.
	"admission_queue_timeout_seconds", "agent_access_default_deny", "allow_unmanaged_response_ids",
	"allowed_file_extensions", "blocked_file_extensions", "claude_code_gateway_managed_settings",
	"dangerously_permit_weak_or_unset_master_key", "database_max_idle_connection_lifetime",
	"disable_env_credential_login", "disable_fallbacks_on_per_model_rate_limits",
	"disable_password_login_when_sso_enabled", "disable_requester_ip_address_logging",
	"enable_claude_code_gateway", "enable_openai_websocket_passthrough",
	"enforce_fallback_model_access", "fail_closed_rate_limit_enforcement",
	"failed_login_block_seconds", "failed_login_window_seconds", "include_call_id_in_error_body",
	"max_batch_file_records", "max_batch_file_uploads_per_day", "max_failed_login_attempts_per_source",
	"max_failed_login_attempts_per_source_overrides", "max_file_downloads_per_minute",
	"max_file_size_mb", "max_in_flight_requests_per_worker", "max_queued_requests_per_worker",
	"maximum_daily_tag_spend_retention_period", "missing_session_id",
	"password_policy_min_length", "password_policy_require_lowercase",
	"password_policy_require_numbers", "password_policy_require_special_characters",
	"password_policy_require_uppercase", "responses_websocket_session_limit_seconds",
	"search_tool_deny_by_default", "spend_capture_rate_check", "spend_logs_metadata_fields",
	"transcribe_media_buckets", "user_api_key_cache_max_size", "vector_store_deny_by_default",
	// Read by LiteLLM 1.108.7 (general_settings.get) without a schema field.
	"allow_public_health_readiness_details", "custom_key_policy", "custom_key_update",
	"custom_team_metadata_validate", "disable_bedrock_agent_runtime_passthrough",
	"disable_custom_api_keys", "disable_key_generate_for_org_admin", "disable_model_info_refresh",
	"expose_fallback_errors_to_caller", "hide_default_credentials_hint",
	"passthrough_managed_object_ids", "password_policy_check_breached_passwords",
	"team_metadata_schema", "team_metadata_validation_error_message",
	"team_metadata_validation_timeout", "tracing", "track_unmanaged_batch_cost",
	"use_team_public_model_name",
)

func setOf(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}
