#include "cli/app.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <exception>
#include <iostream>

#include "cli/commands.hpp"
#include "backends/etcd_gateway.hpp"
#include "backends/webhook_notifier.hpp"
#include "cli/completion.hpp"
#include "cli/system_clock.hpp"
#include "metrics/telemetry.hpp"
#include "cli/exit_code.hpp"
#include "cli/output.hpp"
#include "cli/wiring.hpp"
#include "meshmove/version.hpp"
#include "planner/diagnostic.hpp"
#include "planner/did_you_mean.hpp"

namespace meshmove::cli {
namespace {

const char* k_exit_codes_help =
    "Exit codes: 0 done, 1 internal error, 2 usage or invalid plan, 3 rolled back (an SLO failed),\n"
    "4 in progress, 5 paused or held, 6 infrastructure unreachable, 7 locked by another runner,\n"
    "130 interrupted. See meshmove(1).";

void add_global_options(CLI::App& app, GlobalOptions& g) {
  static const std::map<std::string, OutputFormat> k_formats{{"text", OutputFormat::Text},
                                                             {"json", OutputFormat::Json}};
  static const std::map<std::string, LogFormat> k_log_formats{{"text", LogFormat::Text}, {"json", LogFormat::Json}};
  app.add_option("-o,--output", g.output, "Result format: text or json")
      ->transform(CLI::CheckedTransformer(k_formats, CLI::ignore_case))
      ->option_text("text|json");
  app.add_option("--log-format", g.log_format, "Log format on stderr: text, or json (one event per line)")
      ->transform(CLI::CheckedTransformer(k_log_formats, CLI::ignore_case))
      ->option_text("text|json");
  app.add_flag("-v,--verbose", g.verbosity, "Log what meshmove does to stderr (repeat for more); secrets are redacted");
  app.add_flag("-q,--quiet", g.quiet, "Print only errors (JSON results are still printed)");
  app.add_flag("--no-color", [&g](std::int64_t) { g.color = false; }, "No colours (also when NO_COLOR is set)");
  app.add_option("--prometheus-url", g.prometheus_url, "Override gates.prometheus.url of every plan")
      ->envname("MESHMOVE_PROMETHEUS_URL")
      ->option_text("URL")
      ->check([](const std::string& url) { return url_override_problem(url); });
  app.add_option("--control-plane-url", g.control_plane_url, "Override controlPlane.url of every plan")
      ->envname("MESHMOVE_CONTROL_PLANE_URL")
      ->option_text("URL")
      ->check([](const std::string& url) { return url_override_problem(url); });
  app.add_option("--metrics-file", g.metrics_file,
                 "When the command exits, write meshmove's own metrics to FILE (atomic replace; for the node "
                 "exporter's textfile collector)")
      ->option_text("FILE");
  app.add_option("--pushgateway", g.pushgateway, "When the command exits, push meshmove's own metrics to this "
                                                 "Prometheus Pushgateway (job meshmove, grouped by instance)")
      ->option_text("URL");
  app.add_option("--state-dir", g.state_dir,
                 "Where migration state and journals live (default $XDG_STATE_HOME/meshmove, else "
                 "~/.local/state/meshmove)")
      ->envname("MESHMOVE_STATE_DIR")
      ->option_text("DIR");
  app.add_option("--state", g.state_url,
                 "Keep state, journals and locks in etcd instead: etcd://host:port/prefix or "
                 "etcd+https://host:port/prefix (conflicts with --state-dir)")
      ->envname("MESHMOVE_STATE")
      ->option_text("URL")
      ->check([](const std::string& url) {
        auto parsed = backends::parse_etcd_url(url);
        return parsed.ok() ? std::string() : parsed.error().message;
      })
      ->excludes("--state-dir");
}

// The command definitions as plain data, for the completion scripts.
CommandSpec spec_of(const CLI::App& app, bool top) {
  CommandSpec c;
  c.name = top ? "" : app.get_name();
  c.description = app.get_description();
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_positional()) {
      c.takes_plans = true;
      continue;
    }
    OptionSpec spec;
    for (const auto& n : o->get_snames()) spec.names.push_back("-" + n);
    for (const auto& n : o->get_lnames()) spec.names.push_back("--" + n);
    if (spec.names.empty()) continue;
    spec.description = o->get_description();
    spec.takes_value = o->get_expected_max() > 0;
    const std::string text = o->get_option_text();
    if (text.find('|') != std::string::npos) {
      std::string word;
      for (char ch : text + "|") {
        if (ch == '|') {
          spec.choices.push_back(word);
          word.clear();
        } else {
          word += ch;
        }
      }
    }
    c.options.push_back(spec);
  }
  return c;
}

// Clearer words than CLI11's for two common mistakes: a command that does not exist ("A subcommand is
// required"), and a format that is not one of text/json (CLI11 lists its internal mapping). Empty when
// CLI11's message is fine.
std::string usage_message(const CLI::App& app, const CLI::ParseError& e) {
  const std::string name = e.get_name();
  if (name == "RequiredError" && app.get_subcommands().empty() && !app.remaining().empty()) {
    const std::string word = app.remaining().front();
    std::vector<std::string> commands;
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
      commands.push_back(sub->get_name());
    }
    const std::string hint = planner::did_you_mean(word, commands);
    return "unknown command '" + planner::escape_control(word) + "'" +
           (hint.empty() ? "" : "; did you mean '" + hint + "'?");
  }
  if (name == "ValidationError") {
    for (const char* option : {"--output", "--log-format"}) {
      if (std::string(e.what()).rfind(std::string(option) + ":", 0) == 0) {
        const auto& given = app.get_option(option)->results();
        return std::string(option) + " must be text or json" +
               (given.empty() ? "" : ", got '" + planner::escape_control(given.back()) + "'");
      }
    }
  }
  return "";
}

}  // namespace

int run(int argc, char** argv) {
  GlobalOptions global;
  if (std::getenv("NO_COLOR") != nullptr || isatty(STDERR_FILENO) == 0) global.color = false;

  CLI::App app{"meshmove moves a mesh service's traffic from its VM instances to its Kubernetes instances in\n"
               "SLO-gated steps, writing each weight as a routing policy to the control plane (Kuma) and\n"
               "rolling back by itself when an SLO breaks.",
               "meshmove"};
  app.set_version_flag("--version", std::string("meshmove ") + k_version);
  app.footer(k_exit_codes_help);
  app.require_subcommand(1);
  app.fallthrough();
  add_global_options(app, global);

  ValidateOptions validate;
  auto* validate_cmd = app.add_subcommand("validate", "Check plans; print every problem as file:line:col: field: message");
  validate_cmd->add_option("PLAN", validate.plans, "Plan files (YAML or JSON; - for stdin)")->required();
  validate_cmd->footer("Exit 0 when every plan is valid, 2 otherwise. No network access.");

  PlanOptions plan;
  auto* plan_cmd = app.add_subcommand(
      "plan", "Preview a migration: the timeline, each gate's PromQL, and the policy diff the next step writes");
  plan_cmd->add_option("PLAN", plan.plan, "Plan file")->required();
  plan_cmd->add_flag("--offline", plan.offline, "Do not contact the control plane (timeline and queries only)");
  plan_cmd->add_option("--start", plan.start, "When the migration would start (RFC 3339); default now")
      ->option_text("TIME");
  plan_cmd->add_flag("--skip-preflight", plan.skip_preflight, "Do not count the instances of each set");

  RollbackOptions rollback;
  auto* rollback_cmd = app.add_subcommand(
      "rollback", "Write 100% to the from set now, verify it, and record why (idempotent)");
  rollback_cmd->add_option("PLAN", rollback.plan, "Plan file")->required();
  rollback_cmd->add_flag("--adopt", rollback.adopt,
                         "Overwrite a policy meshmove does not own, or whose weights changed behind its back");
  rollback_cmd->add_flag("--skip-preflight", rollback.skip_preflight,
                         "Write even if the control plane shows no instance of the from set");
  rollback_cmd->add_option("--reason", rollback.reason, "Why; recorded in the state and the journal");
  rollback_cmd->add_flag("--no-state", rollback.no_state,
                         "Roll back without the state store (when it cannot be written): no lock, nothing recorded");
  rollback_cmd->add_option("--rollback-deadline", rollback.rollback_deadline,
                           "Retry the write through 5xx, timeouts and refused connections this long")
      ->capture_default_str()
      ->option_text("DURATION");
  rollback_cmd->footer("Exit 0 when 100% is on the from set (also when it already was); 6 when it could not be\n"
                       "written by the deadline (recorded as owed: the next apply or rollback writes it first).");

  CheckOptions check;
  auto* check_cmd = app.add_subcommand(
      "check", "Evaluate every gate once against live data; the exit code is the verdict (for CI)");
  check_cmd->add_option("PLAN", check.plan, "Plan file")->required();
  check_cmd->add_option("--window", check.window, "How far back to look (Prometheus duration)")
      ->capture_default_str()
      ->option_text("DURATION");
  check_cmd->footer("Prints per gate: SLO, set, resolved query, value, bound, samples, verdict, reason.\n"
                    "Exit 0 all PASS, 3 any FAIL, 6 any ERROR (and no FAIL), 5 any HOLD (and no FAIL or ERROR).");

  ApplyOptions apply;
  auto* apply_cmd = app.add_subcommand(
      "apply", "Run migrations: step by step, judged by the gates, rolled back on failure, until promoted");
  apply_cmd->add_option("PLAN", apply.plans, "Plan files (several run concurrently)")->required();
  apply_cmd->add_flag("--once", apply.once,
                      "One pass (for cron): at most one evaluation and one transition, then exit 0/3/4/5");
  apply_cmd->add_flag("--dry-run", apply.dry_run, "Print the transitions it would make; write nothing");
  apply_cmd->add_flag("--shadow", apply.shadow,
                      "Evaluate the gates and decide as usual, but write no policy and no state");
  apply_cmd->add_flag("--adopt", apply.adopt,
                      "Take over a policy meshmove does not own, or take drifted live weights as the truth");
  apply_cmd->add_flag("--restart", apply.restart, "Start a promoted or rolled-back migration over");
  apply_cmd->add_flag("--accept-plan-change", apply.accept_plan_change,
                      "Continue state made by a plan whose service, sets, control plane or steps changed");
  apply_cmd->add_flag("--skip-preflight", apply.skip_preflight,
                      "Do not require instances of both sets in the control plane, nor answers to every gate's "
                      "queries before the first write");
  apply_cmd->add_flag("--rollback-on-interrupt", apply.rollback_on_interrupt,
                      "On SIGINT/SIGTERM roll back before exiting (default: leave the weight where it is)");
  apply_cmd->add_option("--rollback-deadline", apply.rollback_deadline,
                        "Retry a rollback write through 5xx, timeouts and refused connections this long")
      ->capture_default_str()
      ->option_text("DURATION");
  apply_cmd->add_option("--report", apply.report, "Write a JUnit XML decision report to FILE")->option_text("FILE");
  apply_cmd->add_option("--metrics-addr", apply.metrics_addr,
                        "Serve meshmove's own metrics for Prometheus at HOST:PORT while it runs (e.g. 127.0.0.1:9464)")
      ->option_text("ADDR");
  apply_cmd->footer(
      "Exit 0 promoted, 3 rolled back, 4 in progress (--once), 5 paused, held or stopped by drift,\n"
      "6 infrastructure unreachable, 7 locked by another runner, 130 interrupted.");

  StatusOptions status;
  auto* status_cmd = app.add_subcommand(
      "status", "Where each migration stands: phase, step, live weight, last verdicts, next action, drift");
  status_cmd->add_option("PLAN", status.plans, "Plan files (default: every migration with state)");

  OperatorOptions history;
  auto* history_cmd = app.add_subcommand("history", "The journal of a migration's transitions and verdicts");
  history_cmd->add_option("PLAN", history.plan, "Plan file")->required();

  OperatorOptions pause;
  auto* pause_cmd = app.add_subcommand(
      "pause", "Stop a migration where it is (a running apply is asked to pause, and confirms)");
  pause_cmd->add_option("PLAN", pause.plan, "Plan file")->required();
  pause_cmd->add_option("--reason", pause.reason, "Why; recorded in the journal");

  OperatorOptions resume;
  auto* resume_cmd = app.add_subcommand("resume", "Let a paused migration continue (with the next apply)");
  resume_cmd->add_option("PLAN", resume.plan, "Plan file")->required();
  resume_cmd->add_option("--reason", resume.reason, "Why; recorded in the journal");

  OperatorOptions promote;
  auto* promote_cmd = app.add_subcommand(
      "promote", "Skip to the final weight now, without the remaining steps and gates (asks first)");
  promote_cmd->add_option("PLAN", promote.plan, "Plan file")->required();
  promote_cmd->add_flag("-y,--yes", promote.yes, "Do not ask for confirmation");
  promote_cmd->add_flag("--adopt", promote.adopt, "Overwrite a policy meshmove does not own, or drifted weights");
  promote_cmd->add_option("--reason", promote.reason, "Why; recorded in the journal");

  std::string completion_shell;
  auto* completion_cmd = app.add_subcommand(
      "completion", "Print a shell completion script (bash or zsh), generated from these definitions");
  completion_cmd->add_option("SHELL", completion_shell, "bash or zsh")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));
  completion_cmd->footer("bash: source <(meshmove completion bash)   zsh: meshmove completion zsh > ~/.zfunc/_meshmove");

  Output out(global, std::cout, std::cerr);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (const std::string own = usage_message(app, e); !own.empty()) {
      std::cerr << own << "\nRun with --help for more information.\n";
    } else {
      app.exit(e);
    }
    return to_int(ExitCode::Usage);
  }

  const auto dispatch = [&]() -> int {
    try {
      if (validate_cmd->parsed()) return cmd_validate(out, validate);
      if (plan_cmd->parsed()) return cmd_plan(out, plan);
      if (rollback_cmd->parsed()) return cmd_rollback(out, rollback);
      if (check_cmd->parsed()) return cmd_check(out, check);
      if (apply_cmd->parsed()) return cmd_apply(out, apply);
      if (completion_cmd->parsed()) {
        const CommandSpec top = spec_of(app, true);
        std::vector<CommandSpec> commands;
        for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
          commands.push_back(spec_of(*sub, false));
          if (sub->get_name() == "completion") {
            commands.back().takes_plans = false;
            commands.back().words = {"bash", "zsh"};
          }
        }
        std::cout << (completion_shell == "bash" ? bash_completion(top, commands) : zsh_completion(top, commands));
        return to_int(ExitCode::Done);
      }
      if (status_cmd->parsed()) return cmd_status(out, status);
      if (history_cmd->parsed()) return cmd_history(out, history);
      if (pause_cmd->parsed()) return cmd_pause(out, pause);
      if (resume_cmd->parsed()) return cmd_resume(out, resume);
      if (promote_cmd->parsed()) return cmd_promote(out, promote);
    } catch (const std::exception& e) {
      out.error(std::string("internal error: ") + e.what() + " (please report this as a bug)");
      return to_int(ExitCode::InternalError);
    }
    return to_int(ExitCode::Usage);
  };

  metrics::Telemetry telemetry;
  out.set_telemetry(&telemetry);
  SystemClock notify_clock;
  auto notifier = backends::make_webhook_notifier(notify_clock, [&out](const std::string& line) { out.log(1, line); });
  out.set_notifier(notifier.get());
  const int code = dispatch();
  // Notifications go out before exit, bounded; then the metrics for short runs (cron, CI).
  if (const std::size_t left = notifier->flush(std::chrono::seconds(15)); left > 0) {
    out.warning(std::to_string(left) + " notification(s) could not be sent before exit");
  }
  if (!global.metrics_file.empty()) {
    if (auto st = telemetry.write_file(global.metrics_file); !st.ok()) out.warning("--metrics-file: " + st.error().message);
  }
  if (!global.pushgateway.empty()) {
    char host[256] = {0};
    ::gethostname(host, sizeof host - 1);
    if (auto st = telemetry.push(global.pushgateway, "meshmove", {{"instance", host}}); !st.ok()) {
      out.warning("--pushgateway: " + st.error().message);
    }
  }
  return code;
}

}  // namespace meshmove::cli
