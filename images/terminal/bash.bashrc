# System-wide bashrc of the cloudshell terminal image. It lives in /etc, not in the user's home, because the
# restricted Job template mounts an empty volume over /home/cloudshell.
[ -z "$PS1" ] && return
shopt -s checkwinsize histappend
HISTCONTROL=ignoredups:erasedups
PS1='\u@cloudshell:\w\$ '
if [ -f /usr/share/bash-completion/bash_completion ]; then
  . /usr/share/bash-completion/bash_completion
fi
# kubectl's completion, loaded now (not lazily) so that the short alias completes too.
if [ -f /usr/share/bash-completion/completions/kubectl ]; then
  . /usr/share/bash-completion/completions/kubectl
  alias k=kubectl
  complete -o default -F __start_kubectl k
fi
