var Kt=Object.defineProperty;var Ht=(e,t,n)=>t in e?Kt(e,t,{enumerable:!0,configurable:!0,writable:!0,value:n}):e[t]=n;var pe=(e,t,n)=>Ht(e,typeof t!="symbol"?t+"":t,n);(function(){const t=document.createElement("link").relList;if(t&&t.supports&&t.supports("modulepreload"))return;for(const s of document.querySelectorAll('link[rel="modulepreload"]'))o(s);new MutationObserver(s=>{for(const i of s)if(i.type==="childList")for(const a of i.addedNodes)a.tagName==="LINK"&&a.rel==="modulepreload"&&o(a)}).observe(document,{childList:!0,subtree:!0});function n(s){const i={};return s.integrity&&(i.integrity=s.integrity),s.referrerPolicy&&(i.referrerPolicy=s.referrerPolicy),s.crossOrigin==="use-credentials"?i.credentials="include":s.crossOrigin==="anonymous"?i.credentials="omit":i.credentials="same-origin",i}function o(s){if(s.ep)return;s.ep=!0;const i=n(s);fetch(s.href,i)}})();var R,gt,ie,Oe,Se,yt,$e,bt,Be,Me,Ne=Symbol.for("pv"),ke={},Te=[],Ft=/^m(i|n|o|s|text|space)$/,Ge=Array.isArray,$t=Te.slice,le=Object.assign;function ce(e){e&&e.parentNode&&e.remove()}function ve(e,t,n,o,s){var i={type:e,props:t,key:n,ref:o,__k:null,__:null,__b:0,__e:null,__c:null,constructor:Ne,__v:s||++gt,__i:-1,__u:0};return!s&&R.vnode&&R.vnode(i),i}function te(e){return e.children}function we(e,t){this.props=e,this.context=t,this.__g=0}function se(e,t){if(t==null)return e.__&&se(e.__,e.__i+1);for(var n;t<e.__k.length;t++)if((n=e.__k[t])&&n.__e)return n.__e;return typeof e.type!="function"||e.props.__P?null:se(e)}function Wt(e){var t,n=e.__v,o=n.__e,s=[],i=[],a=e.__P;a&&((t=le({constructor:Ne},n)).__v=n.__v+1,R.vnode&&R.vnode(t),ze(a,t,n,e.__n,a.namespaceURI,32&n.__u?[o]:null,s,o||se(n),32&n.__u,i),t.__v=n.__v,t.__.__k[t.__i]=t,kt(s,t,i),n.__=n.__e=null,t.__e!=o&&vt(t))}function vt(e){if((e=e.__)&&e.__c&&!e.props.__P)return e.__e=null,e.__k.some(function(t){return t&&(e.__e=t.__e)}),vt(e)}function et(e){(8&e.__g||(e.__g|=8,ie.push(e),Se++))&&Oe==R.debounceRendering||((Oe=R.debounceRendering)||queueMicrotask)(wt)}function wt(){try{for(var e,t=1;ie.length;)ie.length>t&&ie.sort(yt),e=ie.shift(),t=ie.length,8&e.__g&&Wt(e)}finally{(Se=ie.length)&&(Oe||queueMicrotask)(wt)}}function It(e,t,n,o,s,i,a,c,u,g,d){var _,f,l,m,v,I,w=o.__k||Te,h=t.length;for(u=jt(n,t,w,u,h),_=0;_<h;_++)(l=n.__k[_])!=null&&(f=~l.__i&&w[l.__i]||ke,l.__i=_,I=ze(e,l,f,s,i,a,c,u,g,d),m=l.__e,(f.ref!=l.ref||8&f.__u)&&(f.ref&&Je(f.ref,null,l,f),l.ref&&d.push(l.ref,l.__c||m,l)),v=v||m,4&l.__u?(u=At(l,u,e,!f.__v),f.__e&&(f.__e=null)):typeof l.type=="function"&&I!==void 0?u=I:m&&(u=m.nextSibling),l.__u&=-21);return n.__e=v,u}function jt(e,t,n,o,s){var i,a,c,u,g,d,_,f,l,m=n.length,v=m,I=0,w=0,h=e.__k=Array(s);for(i=0;i<s;i++)(a=t[i])!=null&&typeof a!="boolean"&&typeof a!="function"?(typeof a!="object"||a.constructor===String?a=h[i]=ve(null,a):Ge(a)?a=h[i]=ve(te,{children:a}):a.constructor===Ne&&a.__b?a=h[i]=ve(a.type,a.props,a.key,a.ref,a.__v):h[i]=a,u=i+I,a.__=e,a.__b=e.__b+1,c=null,~(g=a.__i=Bt(a,n,u,v))&&(v--,(c=n[g])&&(c.__u|=2)),c&&c.__v?(a.__u|=16,g==u-1?I--:g==u+1?I++:g!=u&&(g>u?I--:I++,w=1)):(~g||(s>m?I--:s<m&&I++),typeof a.type!="function"&&(a.__u|=4))):h[i]=null;if(w){for(d=[],_=[],i=0;i<s;i++)if((a=h[i])&&16&a.__u){for(I=0,f=d.length;I<f;)d[l=I+f>>1]<a.__i?I=l+1:f=l;d[I]=a.__i,_[i]=I+1}for(I=d.length;i--;)_[i]&&(_[i]==I?I--:h[i].__u|=4)}if(v)for(i=0;i<m;i++)!(c=n[i])||2&c.__u||(c.__e==o&&(o=se(c)),Ve(c,c));return o}function At(e,t,n,o){var s,i,a,c;if(typeof e.type=="function"){if(e.props.__P)return t;if(s=e.__k)for(i=0;i<s.length;i++)s[i]&&(s[i].__=e,t=At(s[i],t,n,!1));return t}for(t&&!t.parentNode&&(t=se(e))&&!t.parentNode&&(t=null),a=e.__e,c=t;c&&c.nodeType==8;)c=c.nextSibling;for(a!=c&&(!o&&n.moveBefore&&a.parentNode?n.moveBefore(a,t):n.insertBefore(a,t||null)),t=a;(t=t&&t.nextSibling)&&t.nodeType==8&&!t.data.startsWith("$s"););return t}function Bt(e,t,n,o){var s,i=e.key,a=e.type,c=t[n],u=c&&!(2&c.__u);if(c===null&&i==null||u&&i==c.key&&a==c.type)return n;if(o>(u?1:0)){for(s=n-1;s>=0;s--)if((c=t[s])&&!(2&c.__u)&&i==c.key&&a==c.type)return s;for(s=n+1;s<t.length;s++)if((c=t[s])&&!(2&c.__u)&&i==c.key&&a==c.type)return s}return-1}function tt(e,t,n){n==null&&(n=""),t[0]=="-"?e.setProperty(t,n):e[t]=n}function be(e,t,n,o,s){var i,a;if(t=="style")if(typeof n=="string")e.style.cssText=n;else{if(typeof o=="string"&&(e.style.cssText=o=""),o)for(t in o)n&&t in n||tt(e.style,t);if(n)for(t in n)o&&n[t]==o[t]||tt(e.style,t,n[t])}else if(t[0]=="o"&&t[1]=="n")typeof n!="function"&&(n=null),typeof o!="function"&&(o=null),(e.__e||(e.__e={}))[t]=n,n&&o||(a=Me[t]||(Me[t]=Gt(t)),(e.__a||(e.__a={}))[t]=Be,i=t!=(t=t.replace(bt,"$1")),(t=t.slice(2))[0]<"a"&&(t=t.toLowerCase()),n?e.addEventListener(t,a,i):e.removeEventListener(t,a,i));else{if(s=="http://www.w3.org/2000/svg")t=t.replace(/xlink(H|:h)/,"h").replace(/sName$/,"s");else if(t!="width"&&t!="height"&&t!="href"&&t!="list"&&t!="form"&&t!="tabIndex"&&t!="download"&&t!="rowSpan"&&t!="colSpan"&&t!="role"&&t!="popover"&&t in e)try{return void(e[t]=n??"")}catch{}if(typeof n=="function")return;n==null||n===!1&&t[4]!="-"?e.removeAttribute(t):e.setAttribute(t,t=="popover"&&n==1?"":n)}}function Gt(e){return function(t){var n=this.__e;if(n){if(n=n[e],t[$e]==null)t[$e]=Be++;else if(t[$e]<this.__a[e])return;return n(R.event?R.event(t):t)}}}function ze(e,t,n,o,s,i,a,c,u,g){var d,_,f,l,m,v,I,w,h,b,T,p,P,y,S,L,O,B,z=t.type;if(t.constructor!==Ne)return null;128&n.__u&&(u=32&n.__u,d=n.__c.__z)&&(t.__u|=u,_=i=[],d.nodeType==8?c=Ie(d,i):i.push(d),c=i[0]||c),(d=R.__b)&&d(t);e:if(typeof z=="function"){f=a.length;try{if(w=t.props,h=(d=z.prototype)&&d.render,b=(d=z.contextType)&&o[d.__c],T=d?b?b.props.value:d.__:o,(l=n.__c)?(t.__c=l,2&l.__g&&(l.__g|=1)):(h?t.__c=l=new z(w,T):(t.__c=l=new we(w,T),l.constructor=z,l.render=Jt),b&&b.sub(l),l.state||(l.state={}),l.__n=o,l.__g|=8,l.__h=[],l.__k=[]),h&&(l.__s||(l.__s=l.state),z.getDerivedStateFromProps&&(l.__s==l.state&&(l.__s=le({},l.__s)),le(l.__s,z.getDerivedStateFromProps(w,l.__s)))),m=l.props,v=l.state,l.__v=t,n.__c){if(w!==m&&h&&!z.getDerivedStateFromProps&&l.componentWillReceiveProps&&l.componentWillReceiveProps(w,T),t.__v==n.__v&&!(8&l.__g)||!(4&l.__g)&&l.shouldComponentUpdate&&l.shouldComponentUpdate(w,l.__s,T)===!1){t.__v!=n.__v&&(l.props=w,l.state=l.__s,l.__g&=-9),t.__e=n.__e,t.__k=n.__k,t.__k.some(function(x){x&&(x.__=t)}),Te.push.apply(l.__h,l.__k),l.__k=[],l.__h.length&&a.push(l),c=se(n);break e}l.componentWillUpdate&&l.componentWillUpdate(w,l.__s,T),h&&l.componentDidUpdate&&l.__h.push(function(){l.componentDidUpdate(m,v,I)})}else h&&!z.getDerivedStateFromProps&&l.componentWillMount&&l.componentWillMount(),h&&l.componentDidMount&&l.__h.push(l.componentDidMount);l.context=T,l.props=w,l.__P=e,l.__g&=-5,p=R.__r,P=h?25:0;do l.__g&=-9,p&&p(t),d=l.render(l.props,l.state=l.__s,l.context);while(8&l.__g&&++P<25);h&&(Te.push.apply(l.__h,l.__k),l.__k=[]),l.state=l.__s,l.getChildContext&&(o=le({},o,l.getChildContext())),h&&n.__c&&l.getSnapshotBeforeUpdate&&(I=l.getSnapshotBeforeUpdate(m,v)),y=d&&d.type===te&&d.key==null?d.props.children:d,w.__P&&(d=c,s=(e=w.__P).namespaceURI,u=i=null,n.props&&n.props.__P!=e&&(n.__k.some(function(x){x&&Ve(x,x)}),n.__k=null),c=n.__k?se(n,0):null),c=It(e,Ge(y)?y:[y],t,n,o,s,i,a,c,u,g),w.__P&&(t.__e=null,c=d),t.__u&=-161,_&&_.some(ce),l.__h.length&&a.push(l),1&l.__g&&(l.__g&=-4)}catch(x){if(a.length=f,t.__v=null,u||i)if(x&&x.then){if(t.__u|=128|u,i){for(~(O=i.indexOf(c||void 0))||(O=i.length);(B=i[O-1])&&B.nodeType==8;)O--;for(;O<i.length;O++)if(B=i[O])if(i[O]=null,S){if(B==L)break}else{if(B.nodeType!=8)break;B.data.startsWith("$s")&&(L=Ie(S=B))}}if(!S){for(;c&&c.nodeType==8&&c.nextSibling;)c=c.nextSibling;S=c}(d=Ie(S=t.__c.__z||(t.__c.__z=S)))?(t.__e=S,c=d):t.__e=c,c=c&&c.nextSibling}else i&&i.some(ce);else t.__e=n.__e;t.__k||(t.__k=n.__k||[]),x&&x.then||St(t),R.__e(x,t,n)}}else c=t.__e=zt(n.__e,t,n,o,s,i,a,u,g,e);return(d=R.diffed)&&d(t),c}function Ie(e,t){if(e&&e.nodeType==8&&e.data.startsWith("$s"))for(var n=1;e=e.nextSibling;){if(e.nodeType==8){if(e.data.startsWith("$s"))n++;else if(e.data.startsWith("/$s")&&!--n)return e}t&&t.push(e)}}function St(e){e&&(e.__c&&(e.__c.__g|=4),e.__k&&e.__k.some(St))}function kt(e,t,n){for(var o=0;o<n.length;)Je(n[o++],n[o++],n[o++]);R.__c&&R.__c(t,e),e.some(function(s){try{e=s.__h,s.__h=[],e.some(function(i){i.call(s)})}catch(i){R.__e(i,s.__v)}})}function zt(e,t,n,o,s,i,a,c,u,g){var d,_,f,l,m,v,I,w,h=n.props||ke,b=t.props,T=t.type;if(T=="svg"?s="http://www.w3.org/2000/svg":T=="math"?s="http://www.w3.org/1998/Math/MathML":s||(s="http://www.w3.org/1999/xhtml"),i){for(d=0;d<i.length;d++)if((m=i[d])&&(T?m.localName==T:m.nodeType==3)){e=m,i[d]=null;break}}if(!e){if(w=g.ownerDocument||document,!T)return w.createTextNode(b);e=w.createElementNS(s,T,b.is?b:g),c&&(R.__m&&R.__m(t,i),c=!1),i=null}if(T){if(g=T=="template"&&e.content||e,i=T=="textarea"&&b.defaultValue!=null?null:i&&$t.call(g.childNodes),!c&&i)for(h={},d=0;d<e.attributes.length;d++)h[(m=e.attributes[d]).name]=m.value;for(d in h)m=h[d],d=="dangerouslySetInnerHTML"?f=m:d=="children"||d in b||d=="value"&&"defaultValue"in b||d=="checked"&&"defaultChecked"in b||be(e,d,null,m,s);for(d in b)m=b[d],d=="children"?l=m:d=="dangerouslySetInnerHTML"?_=m:d=="value"?v=m:d=="checked"?I=m:c&&typeof m!="function"||h[d]===m||be(e,d,m,h[d],s);_?(c||f&&(_.__html==f.__html||_.__html==e.innerHTML)||(e.innerHTML=_.__html),t.__k=[]):(f&&(e.textContent=""),(T=="foreignObject"||s=="http://www.w3.org/1998/Math/MathML"&&Ft.test(T))&&(s="http://www.w3.org/1999/xhtml"),It(g,Ge(l)?l:[l],t,n,o,s,i,a,i?i[0]:n.__k&&se(n,0),c,u),i&&i.some(ce)),c&&T!="textarea"||(d="value",T=="progress"&&v==null?e.removeAttribute(d):v==null||v===e[d]&&(T!="progress"||v)||be(e,d,v,h[d],s),d="checked",I!=null&&I!=e[d]&&be(e,d,I,h[d],s))}else h===b||c&&e.data==b||(e.data=b);return e}function Je(e,t,n,o){try{typeof e=="function"?t?t.__x=e(t)||1:o&&(o=o.__c||o.__e)&&(t=o.__x)&&(o.__x=null,typeof t=="function"?t():e(null)):e.current=t}catch(s){R.__e(s,n)}}function Ve(e,t,n){var o,s,i,a;if(R.unmount&&R.unmount(e),!(o=e.ref)||o.current&&o.current!=e.__e||Je(o,null,t,e),o=e.__c){if(o.componentWillUnmount)try{o.componentWillUnmount()}catch(c){R.__e(c,t)}o.__P=o.__n=null}if(o=e.__k)for(a=0;a<o.length;a++)o[a]&&Ve(o[a],t,typeof e.type!="function"||n&&!e.props.__P);!n&&(o=e.__c)&&(o=o.__z)&&(s=Ie(o,i=[]))&&(o==e.__e&&i.some(ce),ce(s),ce(o)),n||ce(e.__e),e.__e=e.__c=e.__=null}function Jt(e,t,n){return this.constructor(e,n)}function Vt(e,t){var n,o,s,i;R.__&&R.__(e,t),t.nodeType==9&&(t=t.documentElement),o=(n=e&&32&e.__u)?null:t.__k,t.__k=ve(te,{children:[e]}),s=[],i=[],ze(t,t.__k,o||ke,ke,t.namespaceURI,o?null:t.firstChild?$t.call(t.childNodes):null,s,o?o.__e:t.firstChild,n,i),kt(s,t.__k,i),t.__k.props.children=null}R={__e:function(e,t,n,o){for(var s,i,a;t=t.__;)if((s=t.__c)&&!(1&s.__g)){s.__g|=4;try{if((a=(i=s.constructor)&&i.getDerivedStateFromError)&&s.setState(i.getDerivedStateFromError(e)),s.componentDidCatch&&(s.componentDidCatch(e,o||{}),a=1),a&&8&s.__g)return void(s.__g|=2)}catch(c){e=c}}throw Se=0,e}},gt=0,we.prototype.setState=function(e,t){var n=this.__s;n&&n!=this.state||(n=this.__s=le({},this.state)),typeof e=="function"&&(e=e(le({},n),this.props)),e&&(le(n,e),this.__v&&(t&&this.__k.push(t),et(this)))},we.prototype.forceUpdate=function(e){this.__v&&(this.__g|=4,e&&this.__h.push(e),et(this))},we.prototype.render=te,ie=[],Se=0,yt=function(e,t){return e.__v.__b-t.__v.__b},$e=Symbol(),bt=/(PointerCapture)$|Capture$/i,Be=0,Me={};var Qt=Symbol.for("pv"),Yt=0;function r(e,t,n,o,s,i){t||(t={});var a,c,u=t;if("ref"in u&&typeof e!="function")for(c in u={},t)c=="ref"?a=t[c]:u[c]=t[c];var g={type:e,props:u,key:n,ref:a,__k:null,__:null,__b:0,__e:null,__c:null,constructor:Qt,__v:--Yt,__i:-1,__u:0};return R.vnode&&R.vnode(g),g}var me,F,qe,nt,Ke=Object.is,ge=0,Tt=[],He=[],H=R,rt=H.__b,ot=H.__r,it=H.diffed,st=H.__c,at=H.unmount,ct=H.__;function Qe(e,t){H.__h&&H.__h(F,e,ge||t),ge=0;var n=F.__H||(F.__H={__:[],__h:[]});return e>=n.__.length&&n.__.push({}),n.__[e]}function $(e){return ge=1,Xt(Dt,e)}function Xt(e,t,n){var o=Qe(me++,2);if(o.t=e,!o.__c&&(o.__=[Dt(void 0,t),function(i){var a=(o.__N||o.__)[0],c=o.t(a,i);Ke(a,c)||(o.__N=[c,o.__[1]],o.__c.setState({}))}],o.__c=F,!F.__f)){F.__f=!0;var s=F.shouldComponentUpdate;F.shouldComponentUpdate=function(i,a,c){var u=this.__H;if(!u)return!0;var g=!1,d=this.props!=i;if(u.__.some(function(f){f.__N&&(g=!0,Ke(f.__[0],f.__N[0])||(d=!0))}),s){var _=s.call(this,i,a,c);return g?_||d:_}return!g||d}}return o.__}function ee(e,t){var n=Qe(me++,3);!H.__s&&Et(n.__H,t)&&(n.__P=!0,n.__=e,n.u=t,F.__H.__h.push(n))}function lt(e){return ge=5,Ct(function(){return{current:e}},[])}function Ct(e,t){var n=Qe(me++,7);return Et(n.__H,t)&&(n.__=e(),n.__H=t),n.__}function Zt(e,t){return ge=8,Ct(function(){return e},t)}function en(){var e;do{for(;e=He.shift();)try{fe(e)}catch(n){H.__e(n,{__:(e=e.__P)&&e.__v})}for(;e=Tt.shift();){var t=e.__H;if(e.__P&&t)try{t.__h.some(fe),t.__h.some(Fe),t.__h=[]}catch(n){t.__h=[],H.__e(n,e.__v)}}}while(He.length)}H.__b=function(e){F=null,rt&&rt(e)},H.__=function(e,t){e&&t.__k&&t.__k.__m&&(e.__m=t.__k.__m),ct&&ct(e,t)},H.__r=function(e){ot&&ot(e),me=0;var t=(F=e.__c).__H;t&&(qe==F?F.__h=[]:(t.__h.some(fe),t.__h.some(Fe),me=0),t.__h=[],t.__.some(function(n){n.__N&&(n.__=n.__N),n.u=n.__N=void 0})),qe=F},H.diffed=function(e){it&&it(e);var t=e.__c;t&&t.__H&&(t.__H.__h.length&&dt(Tt.push(t)),t.__H.__.some(function(n){n.u&&(n.__H=n.u)})),qe=F=null},H.__c=function(e,t){t.some(function(n){try{n.__h.some(fe),n.__h=n.__h.filter(function(o){return!o.__||Fe(o)})}catch(o){n.__h=[function(){throw o}]}}),st&&st(e,t)},H.unmount=function(e){at&&at(e);var t,n,o=e.__c;o&&o.__H&&(o.__H.__.some(function(s){try{if(s.__P&&s.__c){if(n===void 0){for(n=e.__;n&&(!n.__c||!n.__c.__P);)n=n.__;n=n&&n.__c}s.__P=n,dt(He.push(s))}else fe(s)}catch(i){t=i}}),o.__H=void 0,t&&H.__e(t,o.__v))};var ut=typeof requestAnimationFrame=="function";function tn(e){var t,n=function(){clearTimeout(o),ut&&cancelAnimationFrame(t),setTimeout(e)},o=setTimeout(n,35);ut&&(t=requestAnimationFrame(n))}function dt(e){e!=1&&nt==H.requestAnimationFrame||((nt=H.requestAnimationFrame)||tn)(en)}function fe(e){var t=F,n=e.__c;typeof n=="function"&&(e.__c=void 0,n()),F=t}function Fe(e){var t=F;e.__c=e.__(),F=t}function Et(e,t){return!e||e.length!=t.length||t.some(function(n,o){return!Ke(n,e[o])})}function Dt(e,t){return typeof t=="function"?t(e):t}function J(e){return e===null?"null":Array.isArray(e)?"array":typeof e}function ae(e){return J(e)==="object"}function nn(e){return Array.isArray(e)&&e.length>0&&e.every(t=>"message"in t)}function pt(e,t){return e.length<124?e:t}const rn="graphql-transport-ws";var Y=(e=>(e[e.InternalServerError=4500]="InternalServerError",e[e.InternalClientError=4005]="InternalClientError",e[e.BadRequest=4400]="BadRequest",e[e.BadResponse=4004]="BadResponse",e[e.Unauthorized=4401]="Unauthorized",e[e.Forbidden=4403]="Forbidden",e[e.SubprotocolNotAcceptable=4406]="SubprotocolNotAcceptable",e[e.ConnectionInitialisationTimeout=4408]="ConnectionInitialisationTimeout",e[e.ConnectionAcknowledgementTimeout=4504]="ConnectionAcknowledgementTimeout",e[e.SubscriberAlreadyExists=4409]="SubscriberAlreadyExists",e[e.TooManyInitialisationRequests=4429]="TooManyInitialisationRequests",e))(Y||{}),X=(e=>(e.ConnectionInit="connection_init",e.ConnectionAck="connection_ack",e.Ping="ping",e.Pong="pong",e.Subscribe="subscribe",e.Next="next",e.Error="error",e.Complete="complete",e))(X||{});function Nt(e){if(!ae(e))throw new Error(`Message is expected to be an object, but got ${J(e)}`);if(!e.type)throw new Error("Message is missing the 'type' property");if(typeof e.type!="string")throw new Error(`Message is expects the 'type' property to be a string, but got ${J(e.type)}`);switch(e.type){case"connection_init":case"connection_ack":case"ping":case"pong":{if(e.payload!=null&&!ae(e.payload))throw new Error(`"${e.type}" message expects the 'payload' property to be an object or nullish or missing, but got "${e.payload}"`);break}case"subscribe":{if(typeof e.id!="string")throw new Error(`"${e.type}" message expects the 'id' property to be a string, but got ${J(e.id)}`);if(!e.id)throw new Error(`"${e.type}" message requires a non-empty 'id' property`);if(!ae(e.payload))throw new Error(`"${e.type}" message expects the 'payload' property to be an object, but got ${J(e.payload)}`);if(typeof e.payload.query!="string")throw new Error(`"${e.type}" message payload expects the 'query' property to be a string, but got ${J(e.payload.query)}`);if(e.payload.variables!=null&&!ae(e.payload.variables))throw new Error(`"${e.type}" message payload expects the 'variables' property to be a an object or nullish or missing, but got ${J(e.payload.variables)}`);if(e.payload.operationName!=null&&J(e.payload.operationName)!=="string")throw new Error(`"${e.type}" message payload expects the 'operationName' property to be a string or nullish or missing, but got ${J(e.payload.operationName)}`);if(e.payload.extensions!=null&&!ae(e.payload.extensions))throw new Error(`"${e.type}" message payload expects the 'extensions' property to be a an object or nullish or missing, but got ${J(e.payload.extensions)}`);break}case"next":{if(typeof e.id!="string")throw new Error(`"${e.type}" message expects the 'id' property to be a string, but got ${J(e.id)}`);if(!e.id)throw new Error(`"${e.type}" message requires a non-empty 'id' property`);if(!ae(e.payload))throw new Error(`"${e.type}" message expects the 'payload' property to be an object, but got ${J(e.payload)}`);break}case"error":{if(typeof e.id!="string")throw new Error(`"${e.type}" message expects the 'id' property to be a string, but got ${J(e.id)}`);if(!e.id)throw new Error(`"${e.type}" message requires a non-empty 'id' property`);if(!nn(e.payload))throw new Error(`"${e.type}" message expects the 'payload' property to be an array of GraphQL errors, but got ${JSON.stringify(e.payload)}`);break}case"complete":{if(typeof e.id!="string")throw new Error(`"${e.type}" message expects the 'id' property to be a string, but got ${J(e.id)}`);if(!e.id)throw new Error(`"${e.type}" message requires a non-empty 'id' property`);break}default:throw new Error(`Invalid message 'type' property "${e.type}"`)}return e}function on(e,t){return Nt(typeof e=="string"?JSON.parse(e,t):e)}function he(e,t){return Nt(e),JSON.stringify(e,t)}function sn(e){const{url:t,connectionParams:n,lazy:o=!0,onNonLazyError:s=console.error,lazyCloseTimeout:i=0,keepAlive:a=0,disablePong:c,connectionAckWaitTimeout:u=0,retryAttempts:g=5,retryWait:d=async function(q){const A=Math.pow(2,q);await new Promise(E=>setTimeout(E,A*1e3+Math.floor(Math.random()*2700+300)))},shouldRetry:_=Ue,on:f,webSocketImpl:l,generateID:m=function(){return"xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g,q=>{const A=Math.random()*16|0;return(q=="x"?A:A&3|8).toString(16)})},jsonMessageReplacer:v,jsonMessageReviver:I}=e;let w;if(l){if(!cn(l))throw new Error("Invalid WebSocket implementation provided");w=l}else typeof WebSocket<"u"?w=WebSocket:typeof global<"u"?w=global.WebSocket||global.MozWebSocket:typeof window<"u"&&(w=window.WebSocket||window.MozWebSocket);if(!w)throw new Error("WebSocket implementation missing; on Node you can `import WebSocket from 'ws';` and pass `webSocketImpl: WebSocket` to `createClient`");const h=w,b=(()=>{const k=(()=>{const A={};return{on(E,M){return A[E]=M,()=>{delete A[E]}},emit(E){"id"in E&&A[E.id]?.(E)}}})(),q={connecting:f?.connecting?[f.connecting]:[],opened:f?.opened?[f.opened]:[],connected:f?.connected?[f.connected]:[],ping:f?.ping?[f.ping]:[],pong:f?.pong?[f.pong]:[],message:f?.message?[k.emit,f.message]:[k.emit],closed:f?.closed?[f.closed]:[],error:f?.error?[f.error]:[]};return{onMessage:k.on,on(A,E){const M=q[A];return M.push(E),()=>{const K=M.indexOf(E);K>-1&&M.splice(K,1)}},emit(A,...E){for(const M of[...q[A]])M(...E)}}})();function T(k){const q=[b.on("error",A=>{q.forEach(E=>E()),k(A)}),b.on("closed",A=>{q.forEach(E=>E()),k(A)})];return()=>q.forEach(A=>A())}let p,P=0,y,S=!1,L=0,O=!1;async function B(){clearTimeout(y);const[k,q]=await(p??(p=new Promise((M,K)=>(async()=>{if(S){if(await d(L),!P)return p=void 0,K({code:1e3,reason:"All Subscriptions Gone"});L++}b.emit("connecting",S);const C=new h(typeof t=="function"?await t():t,rn);let ne,ue;function ye(){isFinite(a)&&a>0&&(clearTimeout(ue),ue=setTimeout(()=>{C.readyState===h.OPEN&&(C.send(he({type:X.Ping})),b.emit("ping",!1,void 0))},a))}T(j=>{p=void 0,clearTimeout(ne),clearTimeout(ue),K(j),j instanceof ht&&(C.close(4499,"Terminated"),C.onerror=null,C.onclose=null)}),C.onerror=j=>b.emit("error",j),C.onclose=j=>b.emit("closed",j),C.onopen=async()=>{try{b.emit("opened",C);const j=typeof n=="function"?await n():n;if(C.readyState!==h.OPEN)return;C.send(he(j?{type:X.ConnectionInit,payload:j}:{type:X.ConnectionInit},v)),isFinite(u)&&u>0&&(ne=setTimeout(()=>{C.close(Y.ConnectionAcknowledgementTimeout,"Connection acknowledgement timeout")},u)),ye()}catch(j){b.emit("error",j),C.close(Y.InternalClientError,pt(j instanceof Error?j.message:String(j),"Internal client error"))}};let de=!1;C.onmessage=({data:j})=>{try{const W=on(j,I);if(b.emit("message",W),W.type==="ping"||W.type==="pong"){b.emit(W.type,!0,W.payload),W.type==="pong"?ye():c||(C.send(he(W.payload?{type:X.Pong,payload:W.payload}:{type:X.Pong},v)),b.emit("pong",!1,W.payload));return}if(de)return;if(W.type!==X.ConnectionAck)throw new Error(`First message cannot be of type ${W.type}`);clearTimeout(ne),de=!0,b.emit("connected",C,W.payload,S),S=!1,L=0;const Ze=new Promise((Ur,Mt)=>T(Mt));Ze.catch(()=>{}),M([C,Ze])}catch(W){C.onmessage=null,b.emit("error",W),C.close(Y.BadResponse,pt(W instanceof Error?W.message:String(W),"Bad response"))}}})())));k.readyState===h.CLOSING&&await q;let A=()=>{};const E=new Promise(M=>A=M);return[k,A,new Promise((M,K)=>{const C=T(K);k.readyState!==h.OPEN&&q.catch(K),E.then(()=>{if(C(),!P){const ne=()=>k.close(1e3,"Normal Closure");isFinite(i)&&i>0?(clearTimeout(y),y=setTimeout(()=>{!P&&k.readyState===h.OPEN&&ne()},i)):ne()}M()})})]}function z(k){if(Ue(k)&&(an(k.code)||[Y.InternalServerError,Y.InternalClientError,Y.BadRequest,Y.BadResponse,Y.Unauthorized,Y.SubprotocolNotAcceptable,Y.SubscriberAlreadyExists,Y.TooManyInitialisationRequests].includes(k.code)))throw k;if(O)return!1;if(Ue(k)&&k.code===1e3)return P>0;if(!g||L>=g||!_(k))throw k;return S=!0}o||(async()=>{for(P++;;)try{const[,,k]=await B();await k}catch(k){try{if(!z(k))return}catch(q){return s?.(q)}}})();function x(k,q){const A=m(k);let E=!1,M=!1,K=()=>{P--,E=!0};return(async()=>{for(P++;;)try{const[C,ne,ue]=await B();if(E)return ue.catch(()=>{}),ne();const ye=b.onMessage(A,de=>{switch(de.type){case X.Next:{q.next(de.payload);return}case X.Error:{M=!0,E=!0,q.error(de.payload),K();return}case X.Complete:{E=!0,K();return}}});C.send(he({id:A,type:X.Subscribe,payload:k},v)),K=()=>{!E&&C.readyState===h.OPEN&&C.send(he({id:A,type:X.Complete},v)),P--,E=!0,ne()},await ue.finally(ye);return}catch(C){if(!z(C))return}})().then(()=>{M||q.complete()}).catch(C=>{q.error(C)}),()=>{E||K()}}return{on:b.on,subscribe:x,iterate(k){const q=[],A={done:!1,error:null,resolve:()=>{}},E=x(k,{next(K){q.push(K),A.resolve()},error(K){A.done=!0,A.error=K,A.resolve()},complete(){A.done=!0,A.resolve()}}),M=(async function*(){for(;;){for(q.length||await new Promise(C=>A.resolve=C);q.length;)yield q.shift();if(A.error)throw A.error;if(A.done)return}})();return M.throw=async K=>(A.done||(A.done=!0,A.error=K,A.resolve()),{done:!0,value:void 0}),M.return=async()=>(E(),{done:!0,value:void 0}),M},async dispose(){if(O=!0,p){const[k]=await p;k.close(1e3,"Normal Closure")}},terminate(){p&&b.emit("closed",new ht)}}}class ht extends Error{constructor(){super(...arguments);pe(this,"name","TerminatedCloseEvent");pe(this,"message","4499: Terminated");pe(this,"code",4499);pe(this,"reason","Terminated");pe(this,"wasClean",!1)}}function Ue(e){return ae(e)&&"code"in e&&"reason"in e}function an(e){return[1e3,1001,1006,1005,1012,1013,1014].includes(e)?!1:e>=1e3&&e<=1999}function cn(e){return typeof e=="function"&&"constructor"in e&&"CLOSED"in e&&"CLOSING"in e&&"CONNECTING"in e&&"OPEN"in e}class D extends String{constructor(t,n){super(t),this.value=t,this.__meta__=n}toString(){return this.value}}const ln=new D(`
    mutation Refresh($refreshToken: String!) {
  refreshToken(refreshToken: $refreshToken) {
    accessToken
    refreshToken
    expiresIn
  }
}
    `),un=new D(`
    mutation Logout {
  logout
}
    `),dn=new D(`
    mutation UploadDocuments($files: [Upload!]!, $collection: String) {
  uploadDocuments(files: $files, collection: $collection) {
    filename
    job {
      id
      status
      progress
    }
  }
}
    `),pn=new D(`
    query Me {
  me {
    id
    username
    email
    role
    permissions
  }
}
    `),hn=new D(`
    query Sessions {
  sessions {
    id
    createdAt
    lastUsedAt
    expiresAt
    ip
    userAgent
    current
  }
}
    `),_n=new D(`
    mutation RevokeSession($id: ID!) {
  revokeSession(id: $id)
}
    `),fn=new D(`
    query ApiKeys {
  apiKeys {
    id
    name
    scopes
    createdAt
    lastUsedAt
    expiresAt
    revoked
  }
  me {
    permissions
  }
}
    `),mn=new D(`
    mutation CreateApiKey($input: CreateApiKeyInput!) {
  createApiKey(input: $input) {
    key
    apiKey {
      id
      name
    }
  }
}
    `),gn=new D(`
    mutation RevokeApiKey($id: ID!) {
  revokeApiKey(id: $id)
}
    `),yn=new D(`
    query Users($search: String, $after: String) {
  users(first: 50, search: $search, after: $after) {
    nodes {
      id
      username
      email
      role
      active
      createdAt
    }
    pageInfo {
      endCursor
      hasNextPage
    }
  }
}
    `),bn=new D(`
    mutation SetUserRole($userId: ID!, $role: Role!) {
  setUserRole(userId: $userId, role: $role) {
    id
    role
  }
}
    `),$n=new D(`
    mutation SetUserActive($userId: ID!, $active: Boolean!) {
  setUserActive(userId: $userId, active: $active) {
    id
    active
  }
}
    `),vn=new D(`
    query AuditLog($filter: AuditFilter) {
  auditLog(filter: $filter, first: 50) {
    nodes {
      id
      at
      actor
      actorType
      action
      resource
      outcome
      ip
      requestId
      detail
    }
  }
}
    `),wn=new D(`
    subscription Health {
  health(intervalSeconds: 5) {
    status
    services {
      name
      status
      version
      latencyMs
      detail
    }
  }
}
    `),In=new D(`
    query Conversations {
  conversations(first: 50) {
    nodes {
      id
      title
      updatedAt
    }
  }
}
    `),An=new D(`
    query Conversation($id: ID!) {
  conversation(id: $id) {
    id
    title
    messages {
      role
      content
      runId
      at
    }
  }
}
    `),Sn=new D(`
    subscription AgentRun($input: AgentRunInput!) {
  agentRun(input: $input) {
    runId
    seq
    type
    delta
    tool
    data
  }
}
    `),kn=new D(`
    subscription AgentRunEvents($runId: ID!, $afterSeq: Int!) {
  agentRunEvents(runId: $runId, afterSeq: $afterSeq) {
    runId
    seq
    type
    delta
    tool
    data
  }
}
    `),Tn=new D(`
    mutation CancelAgentRun($runId: ID!) {
  cancelAgentRun(runId: $runId) {
    id
    status
  }
}
    `),Cn=new D(`
    query Ask($question: String!) {
  ask(question: $question) {
    answer
    mode
    found
    citations {
      documentId
      title
      chunkId
      snippet
      score
    }
  }
}
    `),En=new D(`
    query Collections {
  collections {
    id
    name
    visibility
    role
    owner
    members {
      userId
      role
    }
  }
}
    `),Dn=new D(`
    mutation CreateCollection($name: String!, $visibility: CollectionVisibility!) {
  createCollection(name: $name, visibility: $visibility) {
    id
  }
}
    `),Nn=new D(`
    mutation AddMember($collection: String!, $userId: ID!, $role: CollectionMemberRole!) {
  addCollectionMember(collection: $collection, userId: $userId, role: $role) {
    id
  }
}
    `),Rn=new D(`
    query Documents($collection: String, $after: String) {
  documents(collection: $collection, first: 20, after: $after) {
    totalCount
    nodes {
      id
      title
      collectionName
      mimeType
      sizeBytes
      chunkCount
      status
      error
      createdAt
    }
    pageInfo {
      endCursor
      hasNextPage
    }
  }
}
    `),xn=new D(`
    mutation DeleteDocument($id: ID!) {
  deleteDocument(id: $id) {
    id
  }
}
    `),qn=new D(`
    query Search($query: String!, $collections: [String!]) {
  search(query: $query, collections: $collections, topK: 10) {
    chunkId
    documentId
    title
    content
    score
  }
}
    `),Un=new D(`
    mutation CancelIngestionJob($id: ID!) {
  cancelIngestionJob(id: $id) {
    id
    status
  }
}
    `),Ln=new D(`
    subscription IngestionProgress($jobId: ID!) {
  ingestionProgress(jobId: $jobId) {
    id
    status
    progress
    error
    chunkCount
    documentId
  }
}
    `),Pn=new D(`
    mutation Login($input: LoginInput!) {
  login(input: $input) {
    accessToken
    refreshToken
    expiresIn
  }
}
    `),On=new D(`
    mutation Register($input: RegisterInput!) {
  register(input: $input) {
    id
  }
}
    `),Mn={"\n  mutation Refresh($refreshToken: String!) {\n    refreshToken(refreshToken: $refreshToken) { accessToken refreshToken expiresIn }\n  }\n":ln,"mutation Logout { logout }":un,"\n  mutation UploadDocuments($files: [Upload!]!, $collection: String) {\n    uploadDocuments(files: $files, collection: $collection) { filename job { id status progress } }\n  }\n":dn,"query Me { me { id username email role permissions } }":pn,"query Sessions { sessions { id createdAt lastUsedAt expiresAt ip userAgent current } }":hn,"mutation RevokeSession($id: ID!) { revokeSession(id: $id) }":_n,"query ApiKeys { apiKeys { id name scopes createdAt lastUsedAt expiresAt revoked } me { permissions } }":fn,"\n  mutation CreateApiKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { id name } } }\n":mn,"mutation RevokeApiKey($id: ID!) { revokeApiKey(id: $id) }":gn,"\n  query Users($search: String, $after: String) {\n    users(first: 50, search: $search, after: $after) { nodes { id username email role active createdAt } pageInfo { endCursor hasNextPage } }\n  }\n":yn,"mutation SetUserRole($userId: ID!, $role: Role!) { setUserRole(userId: $userId, role: $role) { id role } }":bn,"mutation SetUserActive($userId: ID!, $active: Boolean!) { setUserActive(userId: $userId, active: $active) { id active } }":$n,"\n  query AuditLog($filter: AuditFilter) {\n    auditLog(filter: $filter, first: 50) { nodes { id at actor actorType action resource outcome ip requestId detail } }\n  }\n":vn,"\n  subscription Health { health(intervalSeconds: 5) { status services { name status version latencyMs detail } } }\n":wn,"\n  query Conversations { conversations(first: 50) { nodes { id title updatedAt } } }\n":In,"\n  query Conversation($id: ID!) { conversation(id: $id) { id title messages { role content runId at } } }\n":An,"\n  subscription AgentRun($input: AgentRunInput!) { agentRun(input: $input) { runId seq type delta tool data } }\n":Sn,"\n  subscription AgentRunEvents($runId: ID!, $afterSeq: Int!) {\n    agentRunEvents(runId: $runId, afterSeq: $afterSeq) { runId seq type delta tool data }\n  }\n":kn,"mutation CancelAgentRun($runId: ID!) { cancelAgentRun(runId: $runId) { id status } }":Tn,"\n  query Ask($question: String!) {\n    ask(question: $question) { answer mode found citations { documentId title chunkId snippet score } }\n  }\n":Cn,"\n  query Collections { collections { id name visibility role owner members { userId role } } }\n":En,"\n  mutation CreateCollection($name: String!, $visibility: CollectionVisibility!) {\n    createCollection(name: $name, visibility: $visibility) { id }\n  }\n":Dn,"\n  mutation AddMember($collection: String!, $userId: ID!, $role: CollectionMemberRole!) {\n    addCollectionMember(collection: $collection, userId: $userId, role: $role) { id }\n  }\n":Nn,"\n  query Documents($collection: String, $after: String) {\n    documents(collection: $collection, first: 20, after: $after) {\n      totalCount\n      nodes { id title collectionName mimeType sizeBytes chunkCount status error createdAt }\n      pageInfo { endCursor hasNextPage }\n    }\n  }\n":Rn,"mutation DeleteDocument($id: ID!) { deleteDocument(id: $id) { id } }":xn,"\n  query Search($query: String!, $collections: [String!]) {\n    search(query: $query, collections: $collections, topK: 10) { chunkId documentId title content score }\n  }\n":qn,"mutation CancelIngestionJob($id: ID!) { cancelIngestionJob(id: $id) { id status } }":Un,"\n  subscription IngestionProgress($jobId: ID!) {\n    ingestionProgress(jobId: $jobId) { id status progress error chunkCount documentId }\n  }\n":Ln,"\n  mutation Login($input: LoginInput!) { login(input: $input) { accessToken refreshToken expiresIn } }\n":Pn,"mutation Register($input: RegisterInput!) { register(input: $input) { id } }":On};function N(e){return Mn[e]??{}}const Ye="agenthub.refresh",Xe="/graphql";class V extends Error{constructor(t,n,o={}){super(t),this.code=n,this.extensions=o}}function Rt(e){if(!(e instanceof V))return`The request failed: ${e instanceof Error?e.message:String(e)}`;const t=e.extensions;switch(e.code){case"UNAUTHENTICATED":return`Please sign in (${e.message})`;case"FORBIDDEN":return"Your role or API key does not allow this.";case"BAD_REQUEST":return`The console sent a malformed request: ${e.message}`;case"BAD_USER_INPUT":{const n=t.fields;return`Check your input: ${(n?Object.entries(n).map(([s,i])=>`${s}: ${i}`).join("; "):"")||e.message}`}case"NOT_FOUND":return"Not found (it does not exist, or you may not see it).";case"CONFLICT":return`That exists already: ${e.message}`;case"RATE_LIMITED":return`Too many requests: try again in ${t.retryAfter??"a few"} s.`;case"SERVICE_UNAVAILABLE":return"A service is not reachable right now; try again shortly.";case"TIMEOUT":return"A service did not answer in time; try again.";case"INTERNAL":return`Unexpected error on the server (request id ${t.requestId??"unknown"}).`;case"NETWORK":return`Cannot reach the gateway: ${e.message}`;default:return`${e.code}: ${e.message}`}}let G=null,We,_e=null;const Ce=new Set,Le={get signedIn(){return G!==null},get token(){return G},onChange(e){return Ce.add(e),()=>Ce.delete(e)}},Kn=N(`
  mutation Refresh($refreshToken: String!) {
    refreshToken(refreshToken: $refreshToken) { accessToken refreshToken expiresIn }
  }
`),Hn=N("mutation Logout { logout }");function xt(e){const t=G!==null;G=e.accessToken,sessionStorage.setItem(Ye,e.refreshToken),window.clearTimeout(We),We=window.setTimeout(()=>void xe(),Math.max(5,e.expiresIn*.8)*1e3),t||Ce.forEach(n=>n(!0))}function Re(){G=null,sessionStorage.removeItem(Ye),window.clearTimeout(We),Gn(),Ce.forEach(e=>e(!1))}function xe(){if(_e)return _e;const e=sessionStorage.getItem(Ye);return e?(_e=(async()=>{try{const t=await je(Kn,{refreshToken:e},null);return xt(t.refreshToken),!0}catch(t){return t instanceof V&&t.code==="NETWORK"||Re(),!1}finally{_e=null}})(),_e):Promise.resolve(!1)}async function Fn(){try{await U(Hn)}catch{}Re()}async function qt(e){let t;try{t=await e.json()}catch{throw new V(`HTTP ${e.status}`,e.status===429?"RATE_LIMITED":"NETWORK")}if(t.errors?.length){const n=t.errors[0];throw new V(n.message,n.extensions?.code??"INTERNAL",n.extensions??{})}return t.data}async function je(e,t,n){let o;try{o=await fetch(Xe,{method:"POST",headers:{"Content-Type":"application/json",...n?{Authorization:`Bearer ${n}`}:{}},body:JSON.stringify({query:e.toString(),variables:t})})}catch(s){throw new V(String(s),"NETWORK")}return qt(o)}function Wn(e){return e instanceof V&&e.code==="UNAUTHENTICATED"&&e.extensions.reason==="expired"}async function U(e,t){try{return await je(e,t,G)}catch(n){if(Wn(n)&&await xe())return je(e,t,G);throw n instanceof V&&n.code==="UNAUTHENTICATED"&&G&&Re(),n}}function jn(e,t,n){const o={query:Bn.toString(),variables:{files:e.map(()=>null),collection:t}},s=new FormData;return s.append("operations",JSON.stringify(o)),s.append("map",JSON.stringify(Object.fromEntries(e.map((i,a)=>[String(a),[`variables.files.${a}`]])))),e.forEach((i,a)=>s.append(String(a),i,i.name)),new Promise((i,a)=>{const c=new XMLHttpRequest;c.open("POST",Xe),c.setRequestHeader("GraphQL-Preflight","1"),G&&c.setRequestHeader("Authorization",`Bearer ${G}`),c.upload.onprogress=u=>u.lengthComputable&&n(u.loaded/u.total),c.onerror=()=>a(new V("upload failed","NETWORK")),c.onload=()=>{let u;try{u=JSON.parse(c.responseText)}catch{return a(new V(`HTTP ${c.status}`,"NETWORK"))}const g=u.errors??[],d=u.data?.uploadDocuments;if(!d){const _=g[0]??{message:`HTTP ${c.status}`};return a(new V(_.message,_.extensions?.code??"INTERNAL",_.extensions??{}))}i(d.map((_,f)=>{const l=g.find(m=>Array.isArray(m.path)&&m.path[1]===f);return{filename:_.filename,jobId:_.job?.id??null,error:l?l.extensions?.fields?Object.values(l.extensions.fields).join("; "):l.message:null}}))},c.send(s)})}const Bn=N(`
  mutation UploadDocuments($files: [Upload!]!, $collection: String) {
    uploadDocuments(files: $files, collection: $collection) { filename job { id status progress } }
  }
`);async function Ut(e,t){const n=await fetch(e,{headers:G?{Authorization:`Bearer ${G}`}:{}});n.ok||await qt(n);const o=URL.createObjectURL(await n.blob());Object.assign(document.createElement("a"),{href:o,download:t}).click(),URL.revokeObjectURL(o)}let Ee=null;function Gn(){Ee?.dispose(),Ee=null}function Lt(e){const t=`${location.protocol==="https:"?"wss":"ws"}://${location.host}${Xe}`;return sn({url:t,lazy:!0,retryAttempts:e,shouldRetry:()=>!0,connectionParams:async()=>(G||await xe(),G?{Authorization:`Bearer ${G}`}:{})})}function zn(){return Ee??(Ee=Lt(5)),Ee}function De(e,t,n,o={}){const s=o.once?Lt(0):zn(),i=s.subscribe({query:e.toString(),variables:t},{next:a=>{if(a.errors?.length){const c=a.errors[0];n.error?.(new V(c.message,c.extensions?.code??"INTERNAL",c.extensions??{}))}else a.data&&n.next(a.data)},error:a=>{if(Array.isArray(a)){const c=a[0];n.error?.(new V(c.message,c.extensions?.code??"INTERNAL",c.extensions??{}))}else a instanceof CloseEvent?n.error?.(new V(a.reason||`socket closed (${a.code})`,a.code===4403?"UNAUTHENTICATED":"NETWORK")):n.error?.(new V(String(a),"NETWORK"))},complete:()=>n.complete?.()});return o.once?()=>{i(),s.dispose()}:i}function Z(){const[e,t]=$(null),[n,o]=$(!1),s=Zt(async i=>{o(!0),t(null);try{return await i()}catch(a){t(Rt(a));return}finally{o(!1)}},[]);return{error:e,setError:t,busy:n,run:s}}function Q({error:e}){return e?r("p",{class:"error",role:"alert",children:e}):null}function oe({title:e,children:t}){const n=`h-${e.toLowerCase().replace(/\W+/g,"-")}`;return r("section",{"aria-labelledby":n,children:[r("h2",{id:n,children:e}),t]})}function re(e){return e?new Date(e).toLocaleString():"—"}const Jn=N(`
  mutation Login($input: LoginInput!) { login(input: $input) { accessToken refreshToken expiresIn } }
`),Vn=N("mutation Register($input: RegisterInput!) { register(input: $input) { id } }");function Qn(){const[e,t]=$("signin"),[n,o]=$(""),[s,i]=$(""),[a,c]=$(""),{error:u,busy:g,run:d}=Z(),[_,f]=$(null);return r("main",{class:"narrow",children:[r("h1",{children:e==="signin"?"Sign in to AgentHub":"Create an AgentHub account"}),r("form",{onSubmit:m=>{m.preventDefault(),d(async()=>{e==="register"&&(await U(Vn,{input:{username:n,password:s,email:a||null}}),f("Account created."));const v=await U(Jn,{input:{username:n,password:s}});xt(v.login)})},children:[r("label",{children:["Username",r("input",{name:"username",autoComplete:"username",required:!0,value:n,onInput:m=>o(m.currentTarget.value)})]}),r("label",{children:["Password",r("input",{name:"password",type:"password",required:!0,autoComplete:e==="signin"?"current-password":"new-password",value:s,onInput:m=>i(m.currentTarget.value)})]}),e==="register"&&r("label",{children:["Email (optional)",r("input",{name:"email",type:"email",autoComplete:"email",value:a,onInput:m=>c(m.currentTarget.value)})]}),r("button",{type:"submit",disabled:g,children:e==="signin"?"Sign in":"Register"})]}),r(Q,{error:u}),_&&r("p",{role:"status",children:_}),r("p",{children:[e==="signin"?"No account yet? ":"Have an account? ",r("button",{type:"button",class:"link",onClick:()=>t(e==="signin"?"register":"signin"),children:e==="signin"?"Register":"Sign in"})]})]})}const Yn=N(`
  query Collections { collections { id name visibility role owner members { userId role } } }
`),Xn=N(`
  mutation CreateCollection($name: String!, $visibility: CollectionVisibility!) {
    createCollection(name: $name, visibility: $visibility) { id }
  }
`),Zn=N(`
  mutation AddMember($collection: String!, $userId: ID!, $role: CollectionMemberRole!) {
    addCollectionMember(collection: $collection, userId: $userId, role: $role) { id }
  }
`),_t=N(`
  query Documents($collection: String, $after: String) {
    documents(collection: $collection, first: 20, after: $after) {
      totalCount
      nodes { id title collectionName mimeType sizeBytes chunkCount status error createdAt }
      pageInfo { endCursor hasNextPage }
    }
  }
`),er=N("mutation DeleteDocument($id: ID!) { deleteDocument(id: $id) { id } }"),tr=N(`
  query Search($query: String!, $collections: [String!]) {
    search(query: $query, collections: $collections, topK: 10) { chunkId documentId title content score }
  }
`),nr=N("mutation CancelIngestionJob($id: ID!) { cancelIngestionJob(id: $id) { id status } }"),rr=N(`
  subscription IngestionProgress($jobId: ID!) {
    ingestionProgress(jobId: $jobId) { id status progress error chunkCount documentId }
  }
`);function or(){const[e,t]=$([]),[n,o]=$(""),[s,i]=$(null),[a,c]=$([]),[u,g]=$(null),[d,_]=$(""),[f,l]=$(!1),m=Z(),v=Z(),I=Z(),w=()=>m.run(async()=>t((await U(Yn)).collections)),h=()=>m.run(async()=>i((await U(_t,{collection:n||null})).documents));ee(()=>{w()},[]),ee(()=>{h()},[n]);const b=(p,P)=>c(y=>y.map(S=>S.key===p?{...S,...P}:S)),T=p=>{if(!p.length)return;const P=`${Date.now()}`,y=p.map((S,L)=>({key:`${P}-${L}`,name:S.name,phase:"uploading",progress:0,detail:""}));c(S=>[...y,...S]),v.run(async()=>{(await jn(p,n||null,L=>y.forEach(O=>b(O.key,{progress:L*.3})))).forEach((L,O)=>{const B=y[O].key;if(!L.jobId)return b(B,{phase:"refused",progress:0,detail:L.error??"refused"});b(B,{phase:"QUEUED",progress:.3,jobId:L.jobId});const z=De(rr,{jobId:L.jobId},{next:({ingestionProgress:x})=>{b(B,{phase:x.status,progress:.3+.7*x.progress,detail:x.status==="DONE"?`${x.chunkCount??0} chunks`:x.error??""}),(x.status==="DONE"||x.status==="FAILED"||x.status==="CANCELLED")&&(z(),h())},error:x=>b(B,{detail:x.message})})})}).catch(()=>{})};return ee(()=>{v.error&&c(p=>p.map(P=>P.phase==="uploading"?{...P,phase:"refused",detail:v.error}:P))},[v.error]),r(te,{children:[r("h1",{children:"Documents"}),r(oe,{title:"Collections",children:[r(ir,{onCreated:w}),r("label",{children:["Show collection",r("select",{value:n,onChange:p=>o(p.currentTarget.value),children:[r("option",{value:"",children:"All I may read"}),e.map(p=>r("option",{value:p.name,children:[p.name," (",p.visibility.toLowerCase(),", ",p.role.toLowerCase(),")"]}))]})]}),e.filter(p=>p.name===n&&(p.role==="OWNER"||p.role==="ADMIN")).map(p=>r(sr,{collection:p.name,members:p.members,onChanged:w}))]}),r(oe,{title:"Upload",children:[r("div",{class:`drop ${f?"over":""}`,onDragOver:p=>{p.preventDefault(),l(!0)},onDragLeave:()=>l(!1),onDrop:p=>{p.preventDefault(),l(!1),T([...p.dataTransfer?.files??[]])},children:[r("p",{children:["Drop .txt, .md, .html, .pdf or .docx files here",n?` (into ${n})`:"",", or"]}),r("label",{class:"button",children:["Choose files",r("input",{type:"file",multiple:!0,class:"visually-hidden","aria-label":"Choose files to upload",onChange:p=>{T([...p.currentTarget.files??[]]),p.currentTarget.value=""}})]})]}),r(Q,{error:v.error}),r("ul",{class:"uploads","aria-label":"Uploads",children:a.map(p=>r("li",{"data-file":p.name,"data-phase":p.phase,children:[r("span",{class:"name",children:p.name}),r("progress",{max:1,value:p.progress,"aria-label":`${p.name} progress`}),r("span",{class:`phase ${p.phase==="refused"||p.phase==="FAILED"?"error":""}`,children:p.phase}),p.detail&&r("span",{class:"detail",children:p.detail}),p.jobId&&(p.phase==="QUEUED"||p.phase==="RUNNING")&&r("button",{type:"button","aria-label":`Cancel ${p.name}`,onClick:()=>void v.run(()=>U(nr,{id:p.jobId})),children:"Cancel"})]}))})]}),r(oe,{title:"Search",children:[r("form",{class:"row",onSubmit:p=>{p.preventDefault(),I.run(async()=>g((await U(tr,{query:d,collections:n?[n]:null})).search))},children:[r("input",{"aria-label":"Search passages",placeholder:"Search passages",required:!0,value:d,onInput:p=>_(p.currentTarget.value)}),r("button",{type:"submit",disabled:I.busy,children:"Search"})]}),r(Q,{error:I.error}),u&&(u.length?r("ol",{class:"hits",children:u.map(p=>r("li",{children:[r("strong",{children:p.title})," ",r("span",{class:"muted",children:["score ",p.score.toFixed(3)]}),r("p",{children:p.content})]}))}):r("p",{children:"No passages found."}))]}),r(oe,{title:"Library",children:[r("button",{type:"button",onClick:()=>void h(),children:"Refresh"}),r(Q,{error:m.error}),s&&r("p",{class:"muted",children:[s.totalCount," document(s)"]}),r("div",{class:"table-wrap",children:r("table",{children:[r("thead",{children:r("tr",{children:[r("th",{children:"Title"}),r("th",{children:"Collection"}),r("th",{children:"Status"}),r("th",{children:"Chunks"}),r("th",{children:"Added"}),r("th",{children:r("span",{class:"visually-hidden",children:"Actions"})})]})}),r("tbody",{children:s?.nodes.map(p=>r("tr",{"data-document":p.title,children:[r("td",{children:p.title}),r("td",{children:p.collectionName}),r("td",{class:p.status==="FAILED"?"error":"",children:[p.status,p.error?`: ${p.error}`:""]}),r("td",{children:p.chunkCount}),r("td",{children:re(p.createdAt)}),r("td",{class:"actions",children:[r("button",{type:"button","aria-label":`Download ${p.title}`,onClick:()=>void m.run(()=>Ut(`/rag/documents/${p.id}/download`,p.title)),children:"Download"}),r("button",{type:"button","aria-label":`Delete ${p.title}`,onClick:()=>{confirm(`Delete ${p.title}?`)&&m.run(async()=>{await U(er,{id:p.id}),await h()})},children:"Delete"})]})]}))})]})}),s?.pageInfo.hasNextPage&&r("button",{type:"button",onClick:()=>void m.run(async()=>{const p=(await U(_t,{collection:n||null,after:s.pageInfo.endCursor})).documents;i({...p,nodes:[...s.nodes,...p.nodes]})}),children:"More"})]})]})}function ir({onCreated:e}){const[t,n]=$(""),[o,s]=$("PRIVATE"),{error:i,busy:a,run:c}=Z();return r("form",{class:"row",onSubmit:u=>{u.preventDefault(),c(async()=>{await U(Xn,{name:t,visibility:o}),n(""),e()})},children:[r("input",{"aria-label":"New collection name",placeholder:"New collection",required:!0,value:t,onInput:u=>n(u.currentTarget.value)}),r("select",{"aria-label":"Visibility",value:o,onChange:u=>s(u.currentTarget.value),children:[r("option",{value:"PRIVATE",children:"Private"}),r("option",{value:"PUBLIC",children:"Public"})]}),r("button",{type:"submit",disabled:a,children:"Create collection"}),r(Q,{error:i})]})}function sr({collection:e,members:t,onChanged:n}){const[o,s]=$(""),[i,a]=$("VIEWER"),{error:c,busy:u,run:g}=Z();return r("div",{children:[r("h3",{children:["Members of ",e]}),r("ul",{children:[t.map(d=>r("li",{children:[d.userId,": ",d.role.toLowerCase()]})),!t.length&&r("li",{class:"muted",children:"none"})]}),r("form",{class:"row",onSubmit:d=>{d.preventDefault(),g(async()=>{await U(Zn,{collection:e,userId:o,role:i}),s(""),n()})},children:[r("input",{"aria-label":"User id",placeholder:"User id",required:!0,value:o,onInput:d=>s(d.currentTarget.value)}),r("select",{"aria-label":"Member role",value:i,onChange:d=>a(d.currentTarget.value),children:[r("option",{value:"VIEWER",children:"Viewer"}),r("option",{value:"EDITOR",children:"Editor"})]}),r("button",{type:"submit",disabled:u,children:"Add member"}),r(Q,{error:c})]})]})}function Pt({text:e,prefix:t,count:n}){const o=e.split(/(\[\d+\])/g);return r("p",{class:"answer",children:o.map(s=>{const i=/^\[(\d+)\]$/.exec(s)?.[1];return i&&+i>=1&&+i<=n?r("a",{href:`#${t}-${i}`,class:"cite","aria-label":`citation ${i}`,onClick:a=>{a.preventDefault(),document.getElementById(`${t}-${i}`)?.focus()},children:["[",i,"]"]}):s})})}function Ot({items:e,prefix:t}){return e.length?r("ol",{class:"citations","aria-label":"Citations",children:e.map((n,o)=>r("li",{id:`${t}-${o+1}`,tabIndex:-1,"data-citation":o+1,children:[r("strong",{children:["[",o+1,"] ",n.title]}),r("blockquote",{children:n.snippet}),r("a",{href:`/rag/documents/${n.documentId}/download`,onClick:s=>{s.preventDefault(),Ut(`/rag/documents/${n.documentId}/download`,n.title).catch(()=>{})},children:"Open the document"})]}))}):null}const ar=N(`
  query Ask($question: String!) {
    ask(question: $question) { answer mode found citations { documentId title chunkId snippet score } }
  }
`);function cr(){const[e,t]=$(""),[n,o]=$(null),{error:s,busy:i,run:a}=Z();return r(te,{children:[r("h1",{children:"Ask"}),r("form",{class:"row",onSubmit:c=>{c.preventDefault(),a(async()=>o((await U(ar,{question:e})).ask))},children:[r("input",{"aria-label":"Question",placeholder:"Ask a question about your documents",required:!0,value:e,onInput:c=>t(c.currentTarget.value)}),r("button",{type:"submit",disabled:i,children:i?"Asking…":"Ask"})]}),r(Q,{error:s}),n&&r("article",{"aria-label":"Answer","aria-live":"polite",children:[r("p",{class:"badge","data-mode":n.mode,children:n.mode==="GENERATIVE"?"Generated answer":"Extractive answer (quoted passages)"}),n.found?r(Pt,{text:n.answer,prefix:"ask-cite",count:n.citations.length}):r("p",{children:"Nothing relevant was found in the documents you may read."}),r(Ot,{items:n.citations,prefix:"ask-cite"})]})]})}const lr=N(`
  query Conversations { conversations(first: 50) { nodes { id title updatedAt } } }
`),ur=N(`
  query Conversation($id: ID!) { conversation(id: $id) { id title messages { role content runId at } } }
`),dr=N(`
  subscription AgentRun($input: AgentRunInput!) { agentRun(input: $input) { runId seq type delta tool data } }
`),pr=N(`
  subscription AgentRunEvents($runId: ID!, $afterSeq: Int!) {
    agentRunEvents(runId: $runId, afterSeq: $afterSeq) { runId seq type delta tool data }
  }
`),hr=N("mutation CancelAgentRun($runId: ID!) { cancelAgentRun(runId: $runId) { id status } }"),Ae="agenthub.run";function _r(e,t){if(t.seq<=e.seq)return e;const n=t.data??{},o={...e,runId:t.runId,seq:t.seq};switch(t.type){case"RUN_STARTED":o.conversationId=n.conversationId??e.conversationId,o.mode=n.mode??"";break;case"TOKEN":o.text=e.text+(t.delta??"");break;case"TOOL_CALL":o.steps=[...e.steps,{tool:t.tool??"?",arguments:n.arguments,summary:null,error:!1}];break;case"TOOL_RESULT":{const s=[...e.steps],i=s.map(a=>a.summary===null&&a.tool===t.tool).lastIndexOf(!0);i>=0&&(s[i]={...s[i],summary:n.summary??"",error:!!n.error}),o.steps=s;break}case"CITATION":o.citations=[...e.citations,{documentId:n.document_id??n.documentId,title:n.title,snippet:n.snippet,score:n.score}];break;case"RUN_FINISHED":o.status=n.status==="CANCELLED"?"CANCELLED":"FINISHED",!o.text&&n.answer&&(o.text=n.answer);break;case"RUN_FAILED":o.status=n.status==="CANCELLED"?"CANCELLED":"FAILED",o.error=n.error??n.message??"The run failed.";break}return o}function fr(e,t){if(!t)return e;const n=e.filter(s=>!(t.runId&&s.runId===t.runId)),o=n[n.length-1];return o&&o.role==="USER"&&o.content===t.question?n.slice(0,-1):n}function ft(){try{return JSON.parse(sessionStorage.getItem(Ae)??"null")}catch{return null}}function mr(){const[e,t]=$([]),[n,o]=$(ft()?.conversationId??null),[s,i]=$([]),[a,c]=$(""),[u,g]=$(ft()),[d,_]=$(null),f=lt(null),l=lt(u),{error:m,run:v}=Z(),I=()=>v(async()=>t((await U(lr)).conversations.nodes)),w=y=>{if(o(y),!y)return i([]);v(async()=>i((await U(ur,{id:y})).conversation.messages??[]))},h=y=>{const S=_r(l.current,y);l.current=S,sessionStorage.setItem(Ae,JSON.stringify(S)),g(S),S.status!=="RUNNING"&&(f.current?.(),f.current=null,S.conversationId&&o(S.conversationId),I())},b={error:y=>_(Rt(y)),complete:()=>{f.current=null}},T=(y,S)=>{f.current=De(pr,{runId:y,afterSeq:S},{next:L=>h(L.agentRunEvents),...b})};ee(()=>{I(),n&&w(n);const y=l.current;return y?.runId&&y.status==="RUNNING"&&T(y.runId,y.seq),()=>f.current?.()},[]);const p=y=>{if(y.preventDefault(),!a.trim()||u?.status==="RUNNING")return;_(null);const S={runId:null,conversationId:n,question:a,seq:0,text:"",steps:[],citations:[],status:"RUNNING",mode:"",error:null};l.current=S,g(S),sessionStorage.setItem(Ae,JSON.stringify(S)),f.current=De(dr,{input:{message:a,conversationId:n}},{next:L=>h(L.agentRun),complete:b.complete,error:L=>{const O=l.current;L.code==="NETWORK"&&O?.runId&&O.status==="RUNNING"?T(O.runId,O.seq):b.error(L)}},{once:!0}),c("")},P=()=>{const y=l.current?.runId;y&&v(async()=>{await U(hr,{runId:y})})};return r(te,{children:[r("h1",{children:"Agent"}),r("div",{class:"split",children:[r("nav",{"aria-label":"Conversations",class:"side",children:[r("button",{type:"button",onClick:()=>{w(null),g(null),sessionStorage.removeItem(Ae)},children:"New conversation"}),r("ul",{children:e.map(y=>r("li",{children:[r("a",{href:"#/agent","aria-current":y.id===n?"true":void 0,onClick:S=>{S.preventDefault(),w(y.id),l.current?.status!=="RUNNING"&&g(null)},children:y.title||"Untitled"})," ",r("span",{class:"muted",children:re(y.updatedAt)})]}))})]}),r("section",{class:"chat","aria-label":"Chat",children:[r(Q,{error:m}),r("ol",{class:"messages",children:fr(s,u).map(y=>r("li",{class:y.role.toLowerCase(),children:[r("span",{class:"visually-hidden",children:[y.role==="USER"?"You":"Agent",": "]}),y.content]}))}),u&&r("article",{class:"live","aria-label":"Current run","data-status":u.status,"data-run":u.runId??"",children:[r("p",{class:"user",children:u.question}),u.mode&&r("p",{class:"badge",children:["mode: ",u.mode.toLowerCase().replace("_"," ")]}),u.steps.length>0&&r("ol",{class:"steps","aria-label":"Tool steps",children:u.steps.map(y=>r("li",{class:y.error?"error":"","data-tool":y.tool,children:[r("code",{children:y.tool}),"(",r("code",{children:JSON.stringify(y.arguments)}),") → ",y.summary??"running…"]}))}),r("div",{class:"assistant","aria-live":"polite","data-testid":"answer",children:[r(Pt,{text:u.text,prefix:"run-cite",count:u.citations.length}),u.status==="RUNNING"&&r("span",{class:"cursor","aria-hidden":"true",children:"▍"})]}),r(Ot,{items:u.citations,prefix:"run-cite"}),r("p",{class:"muted",role:"status",children:[u.status==="RUNNING"?"Running…":u.status.toLowerCase(),u.error?`: ${u.error}`:""]}),u.status==="RUNNING"&&r("button",{type:"button",onClick:P,disabled:!u.runId,children:"Cancel"})]}),r(Q,{error:d}),r("form",{class:"row",onSubmit:p,children:[r("textarea",{"aria-label":"Message to the agent",rows:2,required:!0,value:a,onInput:y=>c(y.currentTarget.value),onKeyDown:y=>{y.key==="Enter"&&!y.shiftKey&&p(y)}}),r("button",{type:"submit",disabled:u?.status==="RUNNING",children:"Send"})]})]})]})]})}const gr=N("query Sessions { sessions { id createdAt lastUsedAt expiresAt ip userAgent current } }"),yr=N("mutation RevokeSession($id: ID!) { revokeSession(id: $id) }"),br=N("query ApiKeys { apiKeys { id name scopes createdAt lastUsedAt expiresAt revoked } me { permissions } }"),$r=N(`
  mutation CreateApiKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { id name } } }
`),vr=N("mutation RevokeApiKey($id: ID!) { revokeApiKey(id: $id) }");function wr(){const[e,t]=$([]),[n,o]=$([]),[s,i]=$([]),[a,c]=$(""),[u,g]=$([]),[d,_]=$(null),[f,l]=$(!1),m=Z(),v=Z(),I=()=>m.run(async()=>t((await U(gr)).sessions)),w=()=>v.run(async()=>{const h=await U(br);o(h.apiKeys),i(h.me.permissions)});return ee(()=>{I(),w()},[]),r(te,{children:[r("h1",{children:"Account"}),r(oe,{title:"Sessions",children:[r(Q,{error:m.error}),r("div",{class:"table-wrap",children:r("table",{children:[r("thead",{children:r("tr",{children:[r("th",{children:"Started"}),r("th",{children:"Last used"}),r("th",{children:"Client"}),r("th",{children:r("span",{class:"visually-hidden",children:"Actions"})})]})}),r("tbody",{children:e.map(h=>r("tr",{children:[r("td",{children:re(h.createdAt)}),r("td",{children:re(h.lastUsedAt)}),r("td",{children:[h.ip??""," ",h.userAgent?.slice(0,60)??"",h.current?" (this one)":""]}),r("td",{children:!h.current&&r("button",{type:"button","aria-label":`Revoke session started ${re(h.createdAt)}`,onClick:()=>void m.run(async()=>{await U(yr,{id:h.id}),await I()}),children:"Revoke"})})]}))})]})})]}),r(oe,{title:"API keys",children:[r("form",{onSubmit:h=>{h.preventDefault(),v.run(async()=>{const b=await U($r,{input:{name:a,scopes:u}});_(b.createApiKey.key),l(!1),c(""),await w()})},children:[r("label",{children:["Key name",r("input",{required:!0,value:a,onInput:h=>c(h.currentTarget.value)})]}),r("fieldset",{children:[r("legend",{children:"Scopes"}),s.map(h=>r("label",{class:"inline",children:[r("input",{type:"checkbox",checked:u.includes(h),onChange:b=>g(b.currentTarget.checked?[...u,h]:u.filter(T=>T!==h))}),h]}))]}),r("button",{type:"submit",disabled:v.busy||!u.length,children:"Create key"})]}),d&&r("div",{class:"created",role:"status",children:[r("p",{children:"Your new key, shown only this once. Store it now:"}),r("code",{"aria-label":"New API key","data-testid":"new-key",children:d}),r("button",{type:"button",onClick:()=>void navigator.clipboard?.writeText(d).then(()=>l(!0),()=>l(!1)),children:f?"Copied":"Copy"}),r("button",{type:"button",onClick:()=>_(null),children:"Done"})]}),r(Q,{error:v.error}),r("div",{class:"table-wrap",children:r("table",{children:[r("thead",{children:r("tr",{children:[r("th",{children:"Name"}),r("th",{children:"Scopes"}),r("th",{children:"Created"}),r("th",{children:"Last used"}),r("th",{children:"State"}),r("th",{children:r("span",{class:"visually-hidden",children:"Actions"})})]})}),r("tbody",{children:n.map(h=>r("tr",{"data-key":h.name,children:[r("td",{children:h.name}),r("td",{children:h.scopes.join(", ")}),r("td",{children:re(h.createdAt)}),r("td",{children:re(h.lastUsedAt)}),r("td",{children:h.revoked?"revoked":"active"}),r("td",{children:!h.revoked&&r("button",{type:"button","aria-label":`Revoke key ${h.name}`,onClick:()=>void v.run(async()=>{await U(vr,{id:h.id}),await w()}),children:"Revoke"})})]}))})]})})]})]})}const Ir=N(`
  query Users($search: String, $after: String) {
    users(first: 50, search: $search, after: $after) { nodes { id username email role active createdAt } pageInfo { endCursor hasNextPage } }
  }
`),Ar=N("mutation SetUserRole($userId: ID!, $role: Role!) { setUserRole(userId: $userId, role: $role) { id role } }"),Sr=N("mutation SetUserActive($userId: ID!, $active: Boolean!) { setUserActive(userId: $userId, active: $active) { id active } }"),kr=N(`
  query AuditLog($filter: AuditFilter) {
    auditLog(filter: $filter, first: 50) { nodes { id at actor actorType action resource outcome ip requestId detail } }
  }
`),Tr=N(`
  subscription Health { health(intervalSeconds: 5) { status services { name status version latencyMs detail } } }
`),Cr=["ADMIN","USER","SERVICE_ACCOUNT","GUEST"];function Er({me:e}){return r(te,{children:[r("h1",{children:"Admin"}),r(Dr,{}),e.permissions.includes("MANAGE_USERS")&&r(Nr,{me:e}),e.permissions.includes("READ_SYSTEM")&&r(Rr,{})]})}function Dr(){const[e,t]=$(null),[n,o]=$(null),[s,i]=$(null);return ee(()=>De(Tr,{},{next:a=>{t(a.health),o(new Date),i(null)},error:a=>i(a.message)}),[]),r(oe,{title:"Service health",children:[r(Q,{error:s}),e&&r("p",{children:["System ",r("strong",{"data-health":e.status,children:e.status})," ",r("span",{class:"muted",children:["(refreshed ",n?.toLocaleTimeString(),", every 5 s)"]})]}),r("ul",{children:e?.services.map(a=>r("li",{class:a.status==="UP"?"":"error",children:[a.name,": ",a.status," ",a.version??""," ",a.latencyMs!=null?`${a.latencyMs.toFixed(1)} ms`:""," ",a.detail]}))})]})}function Nr({me:e}){const[t,n]=$([]),[o,s]=$(""),{error:i,run:a}=Z(),c=()=>a(async()=>n((await U(Ir,{search:o||null})).users.nodes));return ee(()=>{c()},[]),r(oe,{title:"Users",children:[r("form",{class:"row",onSubmit:u=>{u.preventDefault(),c()},children:[r("input",{"aria-label":"Search users",placeholder:"Search users",value:o,onInput:u=>s(u.currentTarget.value)}),r("button",{type:"submit",children:"Search"})]}),r(Q,{error:i}),r("div",{class:"table-wrap",children:r("table",{children:[r("thead",{children:r("tr",{children:[r("th",{children:"User"}),r("th",{children:"Role"}),r("th",{children:"Active"}),r("th",{children:"Created"})]})}),r("tbody",{children:t.map(u=>r("tr",{"data-user":u.username,children:[r("td",{children:[u.username,r("br",{}),r("span",{class:"muted",children:u.id})]}),r("td",{children:r("select",{"aria-label":`Role of ${u.username}`,value:u.role,disabled:u.id===e.id,onChange:g=>{const d=g.currentTarget.value;a(async()=>{await U(Ar,{userId:u.id,role:d}),await c()})},children:Cr.map(g=>r("option",{value:g,children:g}))})}),r("td",{children:r("input",{type:"checkbox","aria-label":`${u.username} active`,checked:u.active,disabled:u.id===e.id,onChange:g=>{const d=g.currentTarget.checked;a(async()=>{await U(Sr,{userId:u.id,active:d}),await c()})}})}),r("td",{children:re(u.createdAt)})]}))})]})})]})}function Rr(){const[e,t]=$([]),[n,o]=$(""),[s,i]=$(""),[a,c]=$(""),{error:u,run:g}=Z(),d=()=>g(async()=>t((await U(kr,{filter:{actor:n||null,action:s||null,since:a?new Date(a).toISOString():null}})).auditLog.nodes));return ee(()=>{d()},[]),r(oe,{title:"Audit log",children:[r("form",{class:"row",onSubmit:_=>{_.preventDefault(),d()},children:[r("input",{"aria-label":"Filter by actor",placeholder:"Actor",value:n,onInput:_=>o(_.currentTarget.value)}),r("input",{"aria-label":"Filter by action",placeholder:"Action",value:s,onInput:_=>i(_.currentTarget.value)}),r("input",{"aria-label":"Since",type:"datetime-local",value:a,onInput:_=>c(_.currentTarget.value)}),r("button",{type:"submit",children:"Filter"})]}),r(Q,{error:u}),r("div",{class:"table-wrap",children:r("table",{children:[r("thead",{children:r("tr",{children:[r("th",{children:"When"}),r("th",{children:"Actor"}),r("th",{children:"Action"}),r("th",{children:"Resource"}),r("th",{children:"Outcome"}),r("th",{children:"Detail"})]})}),r("tbody",{children:e.map(_=>r("tr",{"data-action":_.action,children:[r("td",{children:re(_.at)}),r("td",{children:_.actor??_.actorType}),r("td",{children:_.action}),r("td",{children:_.resource??""}),r("td",{children:_.outcome}),r("td",{children:r("code",{children:JSON.stringify(_.detail)})})]}))})]})})]})}const xr=N("query Me { me { id username email role permissions } }"),Pe=[{path:"documents",label:"Documents"},{path:"ask",label:"Ask"},{path:"agent",label:"Agent"},{path:"account",label:"Account"},{path:"admin",label:"Admin",admin:!0}];function mt(){return location.hash.replace(/^#\/?/,"").split("?")[0]||"documents"}function qr(){const[e,t]=$(mt()),[n,o]=$(null),[s,i]=$(!1);if(ee(()=>{const c=()=>t(mt());window.addEventListener("hashchange",c);const u=Le.onChange(g=>{g?U(xr).then(d=>o(d.me)).catch(()=>Re()):o(null)});return xe().finally(()=>i(!0)),()=>{window.removeEventListener("hashchange",c),u()}},[]),ee(()=>{document.title=`${Pe.find(c=>c.path===e)?.label??"Sign in"} · AgentHub`},[e]),!s||Le.signedIn&&!n)return r("p",{class:"muted",role:"status",children:"Loading…"});if(!Le.signedIn||!n)return r(Qn,{});const a=n.permissions.includes("MANAGE_USERS")||n.permissions.includes("READ_SYSTEM");return r(te,{children:[r("header",{children:[r("strong",{class:"brand",children:"AgentHub"}),r("nav",{"aria-label":"Main",children:Pe.filter(c=>!("admin"in c)||a).map(c=>r("a",{href:`#/${c.path}`,"aria-current":e===c.path?"page":void 0,children:c.label}))}),r("span",{class:"who","aria-label":"Signed in as",children:[n.username," (",n.role.toLowerCase(),")"]}),r("button",{type:"button",onClick:()=>void Fn(),children:"Sign out"})]}),r("main",{children:[e==="documents"&&r(or,{}),e==="ask"&&r(cr,{}),e==="agent"&&r(mr,{}),e==="account"&&r(wr,{}),e==="admin"&&(a?r(Er,{me:n}):r("p",{role:"alert",children:"Administrators only."})),!Pe.some(c=>c.path===e)&&r("p",{children:["No such page. ",r("a",{href:"#/documents",children:"Documents"})]})]})]})}Vt(r(qr,{}),document.getElementById("app"));window.__consoleRendered=performance.now();
