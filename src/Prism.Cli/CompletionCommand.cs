using System.CommandLine;

namespace Prism.Cli;

/// <summary>
/// <c>prism completion bash|zsh|pwsh</c>: prints a script that makes the shell complete prism's commands, options and
/// values. Each script asks prism itself through System.CommandLine's <c>[suggest:POSITION]</c> directive, so completion
/// always matches the installed version (the protocol dotnet-suggest uses).
/// </summary>
internal static class CompletionCommand
{
    private const string Bash = """
        # prism completion for bash: eval "$(prism completion bash)" (e.g. in ~/.bashrc)
        _prism_complete() {
            local IFS=$'\n'
            COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null)" -- "${COMP_WORDS[COMP_CWORD]}"))
        }
        complete -o default -F _prism_complete prism
        """;

    private const string Zsh = """
        # prism completion for zsh: eval "$(prism completion zsh)" (e.g. in ~/.zshrc, after compinit)
        _prism_complete() {
            local -a candidates
            candidates=("${(@f)$(${words[1]} "[suggest:${CURSOR}]" "${BUFFER}" 2>/dev/null)}")
            compadd -a candidates
        }
        compdef _prism_complete prism
        """;

    private const string Pwsh = """
        # prism completion for PowerShell: prism completion pwsh | Out-String | Invoke-Expression (e.g. in $PROFILE)
        Register-ArgumentCompleter -Native -CommandName prism -ScriptBlock {
            param($wordToComplete, $commandAst, $cursorPosition)
            $line = $commandAst.ToString()
            & prism "[suggest:$cursorPosition]" "$line" 2>$null | ForEach-Object {
                [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
            }
        }
        """;

    public static Command Create()
    {
        var shell = new Argument<string>("SHELL") { Description = "bash, zsh or pwsh" };
        shell.AcceptOnlyFromAmong("bash", "zsh", "pwsh");
        var completion = new Command("completion", "print a shell script that completes prism's commands and options "
            + "(bash: eval \"$(prism completion bash)\")") { shell };
        completion.SetAction(p =>
        {
            p.InvocationConfiguration.Output.WriteLine(p.GetValue(shell) switch
            {
                "zsh" => Zsh,
                "pwsh" => Pwsh,
                _ => Bash,
            });
            return 0;
        });
        return completion;
    }
}
