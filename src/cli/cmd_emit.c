/*
 * hookspool emit - publishes one event into the spool (SPEC section 3).
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "domain/event.h"
#include "domain/spool.h"
#include "domain/webhook.h"
#include "util/buf.h"

static const char emit_usage[] =
    "usage: hookspool emit --tenant T --type TYPE [--id ID] [--data JSON | --data-file F]\n"
    "Writes the event into the spool (tmp/, fsync, rename into new/) and prints its id.\n"
    "  --tenant T       tenant id: 1 to 64 of A-Z a-z 0-9 _ -\n"
    "  --type TYPE      event type such as Pass:Created or store.product.updated\n"
    "  --id ID          event id (default: a new evt_... id)\n"
    "  --data JSON      the event's data, any JSON value (default {})\n"
    "  --data-file F    read the data from file F ('-' for standard input)\n"
    "options: --config FILE\n"
    "exit status: 0 published, 1 failure, 2 usage error or invalid event\n";

/* Builds the event's file bytes into *file; returns 0 or an exit status. */
static int
emit_build(const struct config *cfg, const char *tenant, const char *type, const char *id,
           const char *data_arg, const char *data_file, char **file, struct event *ev)
{
    json_object *data = NULL;
    struct buf in;
    char err[256];
    int rc = 0;

    buf_init(&in);
    if (data_file != NULL) {
        int r = cli_read_input("emit", data_file, (size_t)cfg->max_event_bytes, &in);
        if (r != 0) {
            if (r == -2)
                fprintf(stderr, "hookspool emit: the event would exceed max_event_bytes (%ld)\n",
                        cfg->max_event_bytes);
            buf_release(&in);
            return EXIT_FAILURE;
        }
    } else {
        buf_puts(&in, data_arg != NULL ? data_arg : "{}");
    }
    if (event_data_parse(in.data, in.len, &data, err, sizeof err) != 0) {
        fprintf(stderr, "hookspool emit: %s: %s\n", data_file != NULL ? data_file : "--data",
                err);
        buf_release(&in);
        return data_file != NULL ? EXIT_FAILURE : EXIT_USAGE;
    }
    buf_release(&in);

    /* The spool file is the complete event, so every reader sees the same id and time. */
    json_object *o = json_object_new_object();
    if (id != NULL)
        json_object_object_add(o, "eventId", json_object_new_string(id));
    json_object_object_add(o, "eventType", json_object_new_string(type));
    json_object_object_add(o, "tenantId", json_object_new_string(tenant));
    json_object_object_add(o, "data", data);
    const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    if (event_parse(ev, text, strlen(text), err, sizeof err) != 0) {
        fprintf(stderr, "hookspool emit: %s\n", err);
        rc = EXIT_USAGE;
    } else {
        *file = event_body(ev);
        if (strlen(*file) > (size_t)cfg->max_event_bytes) {
            fprintf(stderr, "hookspool emit: the event is %zu bytes, more than max_event_bytes "
                    "(%ld)\n", strlen(*file), cfg->max_event_bytes);
            free(*file);
            *file = NULL;
            rc = EXIT_FAILURE;
        }
    }
    json_object_put(o);
    return rc;
}

int
cmd_emit(int argc, char **argv)
{
    const char *config = NULL, *tenant = NULL, *type = NULL, *id = NULL, *data = NULL,
               *data_file = NULL;
    const struct cli_option opts[] = {
        { "--config", true, &config }, { "--tenant", true, &tenant }, { "--type", true, &type },
        { "--id", true, &id }, { "--data", true, &data }, { "--data-file", true, &data_file },
        { NULL, false, NULL },
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(argc, argv, emit_usage, opts, pos, 0, &npos);

    if (rc != CLI_CONTINUE)
        return rc;
    const char *problem = NULL;
    if (tenant == NULL || type == NULL)
        problem = "--tenant and --type are required";
    else if (!webhook_tenant_valid(tenant))
        problem = "--tenant must be 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'";
    else if (!event_type_valid(type))
        problem = "--type must be 1 to 128 characters of A-Z, a-z, 0-9, '.', ':', '_' and '-'";
    else if (id != NULL && !event_id_valid(id))
        problem = "--id must be 1 to 128 characters of A-Z, a-z, 0-9, '.', ':', '_' and '-'";
    else if (data != NULL && data_file != NULL)
        problem = "give --data or --data-file, not both";
    if (problem != NULL) {
        fprintf(stderr, "hookspool emit: %s\n", problem);
        return cli_usage_error(emit_usage);
    }

    struct config cfg;
    if (cli_config(&cfg, config) != 0)
        return EXIT_FAILURE;
    struct event ev;
    char *file = NULL;
    memset(&ev, 0, sizeof ev);
    rc = emit_build(&cfg, tenant, type, id, data, data_file, &file, &ev);
    if (rc == 0) {
        char name[128];
        if (spool_create_dirs(cfg.spool_dir) != 0 ||
            spool_publish(cfg.spool_dir, file, strlen(file), name, sizeof name) != 0) {
            fprintf(stderr, "hookspool emit: %s: cannot publish the event: %s\n", cfg.spool_dir,
                    strerror(errno));
            rc = EXIT_FAILURE;
        } else {
            printf("%s\n", ev.id);
            rc = fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
        }
    }
    free(file);
    event_release(&ev);
    config_release(&cfg);
    return rc;
}
